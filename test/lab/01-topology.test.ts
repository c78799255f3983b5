import { describe, expect, it } from "vitest";
import {
  defaultSip,
  labFakeswitchProfile,
  loadTopology,
  parseTopology,
  TopologyError,
  topologyNames,
} from "../../lab/plan/topology.ts";

function problemsOf(yaml: string): string[] {
  try {
    parseTopology(yaml, "test.yaml");
  } catch (error) {
    if (error instanceof TopologyError) return error.problems;
    throw error;
  }
  throw new Error("expected the topology to be refused");
}

describe("topologies", () => {
  it("ships single, sharded-2, nats-cluster, gateway-bench, single-real and mixed, each valid, with ESL and NATS proxied and Kamailio in front", () => {
    expect(topologyNames()).toEqual([
      "gateway-bench",
      "mixed",
      "nats-cluster",
      "sharded-2",
      "single",
      "single-real",
    ]);
    for (const name of topologyNames()) {
      const topology = loadTopology(name);
      for (const gateway of topology.gateways) {
        expect(topology.links.some((l) => l.from === gateway.name && l.to === gateway.freeswitch)).toBe(true);
        for (const node of topology.nats.nodes)
          expect(topology.links.some((l) => l.from === gateway.name && l.to === node)).toBe(true);
      }
      expect(topology.sip, name).toEqual(defaultSip);
    }
    expect(loadTopology("single")).toMatchObject({
      nats: { nodes: ["nats"] },
      freeswitch: [{ name: "fakeswitch", profile: labFakeswitchProfile }],
      gateways: [{ name: "gateway", freeswitch: "fakeswitch", env: {} }],
    });
    expect(loadTopology("sharded-2").gateways.map((g) => [g.name, g.freeswitch])).toEqual([
      ["gateway", "fakeswitch"],
      ["gateway-2", "fakeswitch-2"],
    ]);
    expect(loadTopology("nats-cluster").nats.nodes).toEqual(["nats-1", "nats-2", "nats-3"]);
    // The lab's doubles heartbeat every 20 s, as FreeSWITCH does (docs/fidelity.md).
    for (const name of topologyNames())
      for (const fs of loadTopology(name).freeswitch)
        if (fs.kind === "double") expect(fs.profile.heartbeat, name).toBeUndefined();
    // The bench's lab is single without the calls pipeline, nothing else.
    const { calls: _calls, ...single } = loadTopology("single");
    expect({ ...loadTopology("gateway-bench"), name: "single", description: "" }).toEqual({
      ...single,
      description: "",
    });
  });

  it("runs the calls pipeline in single and single-real only: two orchestrators through its gateway", () => {
    expect(loadTopology("single").calls).toEqual({ orchestrators: 2, gateway: "gateway", env: {} });
    expect(loadTopology("single-real").calls).toEqual(loadTopology("single").calls);
    for (const name of topologyNames().filter((n) => n !== "single" && n !== "single-real"))
      expect(loadTopology(name).calls, name).toBeUndefined();
    const minimal = parseTopology(
      `description: x
nats: { nodes: [nats] }
freeswitch: [{ name: fs }, { name: fs-2 }]
gateways: [{ name: gw, freeswitch: fs }, { name: gw-2, freeswitch: fs-2 }]
calls: { gateway: gw-2, env: { ORCHESTRATOR_ACK_WAIT_MS: 3000 } }
`,
      "calls.yaml",
    );
    expect(minimal.calls).toEqual({
      orchestrators: 2,
      gateway: "gw-2",
      env: { ORCHESTRATOR_ACK_WAIT_MS: "3000" },
    });
  });

  it("refuses a calls section that names no gateway of its own, sets the lab's variables, or takes its names", () => {
    expect(
      problemsOf(`description: x
nats: { nodes: [nats] }
freeswitch: [{ name: fs }]
gateways: [{ name: calls-gw, freeswitch: fs }]
calls:
  orchestrators: 0
  gateway: nope
  env: { DATABASE_URL: "postgres://x", CALLS_ROLES: api, NATS_URL: "nats://x", LOG_LEVEL: debug }
  database: pglite
`),
    ).toEqual([
      'name "calls-gw": names starting with "calls-" are the calls pipeline\'s',
      'calls: unknown key "database" (known: orchestrators, gateway, env)',
      "calls.orchestrators: expected an integer from 1 to 8",
      'calls.gateway: "nope" is not a gateway of this topology (calls-gw)',
      "calls.env.DATABASE_URL: the lab sets this variable itself",
      "calls.env.CALLS_ROLES: the lab sets this variable itself",
      "calls.env.NATS_URL: the lab sets this variable itself",
    ]);
  });

  it("takes per-FreeSWITCH profile overrides and gateway env, numbers written as YAML shows them", () => {
    const topology = parseTopology(
      `description: x
nats: { nodes: [nats] }
freeswitch: [{ name: fs, profile: { hold: 100, busy: 0.5 } }]
gateways: [{ name: gw, freeswitch: fs, env: { ESL_IDLE_TIMEOUT_MS: 500 } }]
`,
      "custom.yaml",
    );
    expect(topology.name).toBe("custom");
    expect(topology.freeswitch[0]).toMatchObject({ profile: { hold: "100", busy: "0.5", sps: "5000" } });
    expect(topology.gateways[0]?.env).toEqual({ ESL_IDLE_TIMEOUT_MS: "500" });
    expect(topology.links).toEqual([]);
  });

  it("takes a real FreeSWITCH (kind: freeswitch) with its limits, the double by default, and refuses other kinds", () => {
    expect(loadTopology("single-real").freeswitch).toEqual([
      { name: "freeswitch", kind: "freeswitch", sessionsPerSecond: 1000, maxSessions: 10_000 },
    ]);
    expect(loadTopology("mixed").freeswitch.map((f) => f.kind)).toEqual(["freeswitch", "double"]);
    expect(loadTopology("single").freeswitch[0]?.kind).toBe("double");
    expect(
      problemsOf(`description: x
nats: { nodes: [nats] }
freeswitch:
  - { name: fs, kind: freeswitch, sessions_per_second: -1, profile: { hold: 1 } }
  - { name: fs2, kind: asterisk }
gateways: [{ name: gw, freeswitch: fs }, { name: gw2, freeswitch: fs2 }]
`),
    ).toEqual([
      'freeswitch[0]: unknown key "profile" (known: name, kind, sessions_per_second, max_sessions)',
      "freeswitch[0].sessions_per_second: expected a positive whole number",
      'freeswitch[1].kind: expected double or freeswitch, not "asterisk"',
    ]);
  });

  it("reports every problem at once, each with where it is", () => {
    expect(
      problemsOf(`nats: { nodes: [a, b] }
freeswitch: [{ name: fs }, { name: Bad_Name }]
gateways:
  - { name: gw, freeswitch: nope, env: { FS_ESL_PORT: 1 } }
  - { name: gw, freeswitch: fs }
  - { name: gw3, freeswitch: fs }
links:
  - { name: l, from: fs, to: a }
  - { name: m, from: gw, to: fs }
  - { name: m, from: gw, to: fs }
extra: 1
`),
    ).toEqual([
      '(top level): unknown key "extra" (known: description, nats, freeswitch, gateways, links, sip, calls)',
      "description: expected a non-empty string",
      "nats.nodes: give 1 node (a single server) or 3 or more (a JetStream cluster; 2 cannot keep a quorum)",
      'freeswitch[1].name: "Bad_Name" must be lower-case letters, digits and dashes, starting with a letter',
      'gateways[0].freeswitch: "nope" is not a FreeSWITCH of this topology (fs, Bad_Name)',
      "gateways[0].env.FS_ESL_PORT: the lab sets this variable itself",
      "freeswitch fs: owned by more than one gateway (ADR-0011: one ESL connection per FreeSWITCH)",
      'links[0].from: "fs" is not a gateway of this topology',
      'links[1].to: "fs" is neither gw\'s FreeSWITCH (nope) nor a NATS node (a, b)',
      'links[2].to: "fs" is neither gw\'s FreeSWITCH (nope) nor a NATS node (a, b)',
      "links: gw → fs is proxied twice",
      'component name "gw" is used twice',
      'link name "m" is used twice',
    ]);
  });

  it("checks each FreeSWITCH profile flag and value as the double would, with where it is", () => {
    expect(
      problemsOf(`description: x
nats: { nodes: [nats] }
freeswitch:
  - { name: fs, profile: { hold: -5, bogus: 1, busy: 2, answer-delay: 10-50, load-latency: "maxMs=x" } }
  - { name: fs2, profile: { sps: 1.5, hold: inf, port: 8021 } }
gateways: [{ name: gw, freeswitch: fs }, { name: gw2, freeswitch: fs2 }]
`),
    ).toEqual([
      "freeswitch[0].profile.hold: not a duration: -5",
      expect.stringMatching(
        /^freeswitch\[0\]\.profile\.bogus: unknown FreeSWITCH double flag \(known: answer-delay, hold, /,
      ),
      "freeswitch[0].profile.busy: not a share between 0 and 1: 2",
      "freeswitch[0].profile.load-latency: --load-latency: maxMs is not a number ≥ 0",
      "freeswitch[1].profile.sps: not a whole number: 1.5",
      expect.stringMatching(/^freeswitch\[1\]\.profile\.port: unknown FreeSWITCH double flag/),
    ]);
  });

  it("has SIP unless the file opts out with sip: false, and checks what it changes", () => {
    const base = `description: x
nats: { nodes: [nats] }
freeswitch: [{ name: fs }]
gateways: [{ name: gw, freeswitch: fs }]
`;
    expect(parseTopology(base, "on.yaml").sip).toEqual({
      frTimerMs: 1000,
      carrier: { answerMs: 20, holdMs: 500 },
    });
    expect(parseTopology(`${base}sip: false\n`, "off.yaml").sip).toBeUndefined();
    expect(
      parseTopology(`${base}sip: { fr_timer_ms: 500, carrier: { hold_ms: 0 } }\n`, "custom.yaml").sip,
    ).toEqual({ frTimerMs: 500, carrier: { answerMs: 20, holdMs: 0 } });
    expect(problemsOf(`${base}sip: { fr_timer_ms: 50, caller: {}, carrier: { answer_ms: -1 } }\n`)).toEqual([
      'sip: unknown key "caller" (known: fr_timer_ms, carrier)',
      "sip.fr_timer_ms: expected an integer of at least 100 (ms), or sip: false for no SIP",
      "sip.carrier.answer_ms: expected an integer of at least 0 (ms), or sip: false for no SIP",
    ]);
    expect(problemsOf(`${base}sip: true\n`)).toEqual(["sip: expected a mapping"]);
  });

  it("refuses broken YAML, unknown names and the lab's reserved names", () => {
    expect(problemsOf("nats: [")[0]).toMatch(/^not valid YAML: /);
    expect(() => loadTopology("triple")).toThrow(
      /no topology "triple"; shipped: gateway-bench, mixed, nats-cluster, sharded-2, single, single-real/,
    );
    expect(
      problemsOf(`description: x
nats: { nodes: [fault-proxy] }
freeswitch: [{ name: fs }]
gateways: [{ name: gw, freeswitch: fs }]
`),
    ).toEqual(['name "fault-proxy" is reserved for the lab\'s own component']);
  });
});
