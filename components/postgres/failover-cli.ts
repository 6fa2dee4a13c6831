// npm run db:failover -- --stack <name> --promote <host> [--fenced <old primary>]
// Unplanned failover of the database (see failover.ts).
import { stackHosts } from "../offline/connections";
import { failover, FENCING } from "./failover";

const USAGE = `usage: npm run db:failover -- --stack <name> --promote <standby host> [--fenced <old primary host>]
  --fenced: required while the old primary answers as a primary or does not answer at all; fenced means ${FENCING}`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let stack: string | undefined;
  let promote: string | undefined;
  let fenced: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack") stack = argv[++i];
    else if (argv[i] === "--promote") promote = argv[++i];
    else if (argv[i] === "--fenced") fenced = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}; ${USAGE}`);
  }
  if (!stack || !promote) throw new Error(USAGE);
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
