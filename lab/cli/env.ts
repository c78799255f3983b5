import { Lab } from "../run/lab.ts";
import { secretValues } from "../run/state.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";

export const env: Command = {
  name: "env",
  summary:
    "the environment a gateway of the lab gets, and the calls API's URL, as export lines (secrets included)",
  help: `usage: npm run lab -- env [gateway]

Prints \`export NAME='value'\` lines: the environment the lab gives a gateway (FS_ESL_*, NATS_URL,
JWT_SECRET, HTTP_HOST/HTTP_PORT...), for a gateway you start yourself (\`up --gateway-url\`):
  eval "$(npm run -s lab -- env)" && npm run gateway
and, when the lab runs the calls pipeline, CALLS_API_URL (its API's base URL; the same JWT_SECRET signs
its callers' tokens). The output holds the lab's secrets: do not paste it anywhere.

  gateway   which gateway (sharded topologies have several); default the first
`,
  async run(args) {
    const { positionals } = parseCommandArgs(args, {});
    if (positionals.length > 1) throw new UsageError("env takes at most one gateway");
    const lab = await Lab.attach();
    const name = positionals[0] ?? lab.state.gateways[0]?.name;
    const gateway = lab.state.gateways.find((g) => g.name === name);
    if (!gateway)
      throw new UsageError(
        `no gateway ${JSON.stringify(name)}; this lab has ${lab.state.gateways.map((g) => g.name).join(", ")}`,
      );
    const variables = {
      ...gateway.env,
      ...secretValues(gateway.secretEnv, lab.secrets),
      ...(lab.state.calls && { CALLS_API_URL: lab.state.calls.apiUrl }),
    };
    const quote = (value: string) => `'${value.replaceAll("'", `'"'"'`)}'`;
    for (const [key, value] of Object.entries(variables))
      process.stdout.write(`export ${key}=${quote(value)}\n`);
    return 0;
  },
};
