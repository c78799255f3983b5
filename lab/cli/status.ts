import { relative } from "node:path";
import { describeFaults, Lab, type LabStatus } from "../run/lab.ts";
import { repoRoot } from "../run/paths.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { formatTable } from "./table.ts";

export const status: Command = {
  name: "status",
  summary: "components, URLs, ports, PIDs and health of the lab that is up (--json: with a bearer token)",
  help: `usage: npm run lab -- status [--json]

Asks every component of the lab that is up whether it works (gateway /health, NATS /healthz, the ESL
greeting, the fault proxies' control API) and prints a table of components and one of proxied links.
Works from any shell: the lab is found through .lab/state.json (LAB_STATE_FILE to point elsewhere).

  --json    the same as JSON, plus the gateways' and the calls API's URLs and a bearer token signed with
            the lab's JWT secret (every scope: the gateway's fs:* and the calls API's calls:*; 12 h):
              TOKEN=$(npm run -s lab -- status --json | jq -r .token)
              curl -H "Authorization: Bearer $TOKEN" <gateway>/api/v1/fs/channels
              curl -H "Authorization: Bearer $TOKEN" $(npm run -s lab -- status --json | jq -r .calls.apiUrl)/v1/calls/<id>

Exit code: 0 when every component is up (ok or degraded), 1 when one is down or no lab is up.
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: "boolean" } });
    if (positionals.length > 0)
      throw new UsageError(`status takes no arguments, got ${positionals.join(" ")}`);
    const lab = await Lab.attach();
    const report = await lab.status();
    if (values.json) {
      const token = await lab.token();
      const gateway = lab.gatewayUrl();
      const json = {
        ...report,
        gateways: lab.state.gateways.map(({ name, url }) => ({ name, url })),
        token,
        curl: `curl -H "Authorization: Bearer ${token}" ${gateway}/api/v1/fs/channels`,
      };
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    } else process.stdout.write(`${formatStatus(report)}\n`);
    return report.components.some((c) => c.health === "down") ? 1 : 0;
  },
};

export function formatStatus(report: LabStatus): string {
  const startup = report.startupMs === undefined ? "still starting" : `up in ${report.startupMs} ms`;
  const header = `lab ${report.labId}  topology ${report.topology}  mode ${report.mode}  ${startup}  logs ${relative(repoRoot, report.runDir) || report.runDir}${report.calls ? `\ncalls API ${report.calls.apiUrl}  database ${report.calls.database}` : ""}`;
  const components = formatTable([
    ["COMPONENT", "PID", "HEALTH", "PORTS", "URLS", "DETAIL"],
    ...report.components.map((c) => {
      const urls = Object.entries(c.endpoints).map(([role, url]) => `${role} ${url}`);
      const ports = Object.values(c.endpoints).flatMap((url) => {
        const port = /:(\d+)(?:\/|$| )/.exec(url)?.[1];
        return port ? [port] : [];
      });
      return [
        c.name,
        c.pid ? String(c.pid) : "-",
        c.health,
        ports.join(",") || "-",
        urls.join("  "),
        c.detail,
      ];
    }),
  ]);
  const links =
    report.links.length === 0
      ? "no proxied links"
      : formatTable([
          ["LINK", "FROM → TO", "PROXY LISTENS", "FORWARDS TO", "CONNS", "FAULTS"],
          ...report.links.map((l) => [
            l.name,
            `${l.from} → ${l.to}`,
            `${l.listen.host}:${l.listen.port}`,
            `${l.target.host}:${l.target.port}`,
            l.proxy ? String(l.proxy.connections) : "?",
            l.proxy ? (l.proxy.faults.length ? describeFaults(l.proxy.faults) : "-") : "proxy not answering",
          ]),
        ]);
  return `${header}\n\n${components}\n\n${links}`;
}
