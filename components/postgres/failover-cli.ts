// npm run db:failover -- --stack <name> --promote <host> [--fenced <old primary>]
// Unplanned failover of the database (see failover.ts).
import { cliArgs, CliSpec, stringOpt } from "../cli/args";
import { stackHosts } from "../offline/connections";
import { failover, FENCING } from "./failover";

const FAILOVER_CLI: CliSpec = {
  name: "db:failover",
  usage: "npm run db:failover -- --stack <name> --promote <standby host> [--fenced <old primary host>]",
  summary: [
    "Unplanned failover of the database: promotes a standby when the primary is lost, and prints the",
    "config change to make (the new postgres-primary) before the next `up`.",
  ],
  options: {
    stack: { value: "<name>", required: true, help: "the stack file Pulumi.<name>.yaml" },
    promote: { value: "<standby host>", required: true, help: "the standby to promote" },
    fenced: {
      value: "<old primary host>",
      help: `required while the old primary answers as a primary or does not answer at all; fenced means ${FENCING}`,
    },
  },
};

async function main(): Promise<void> {
  const args = cliArgs(FAILOVER_CLI);
  const stack = stringOpt(args, "stack")!;
  const promote = stringOpt(args, "promote")!;
  const fenced = stringOpt(args, "fenced");
  const hosts = await stackHosts({ stackFile: stack });
  const r = await failover({
    config: hosts.config,
    run: (h, s) => hosts.run(h, s),
    promote,
    ...(fenced ? { fenced } : {}),
    stack,
    log: (l) => process.stderr.write(`db:failover: ${l}\n`),
  });
  process.stdout.write(`${r.configChange}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`db:failover: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
