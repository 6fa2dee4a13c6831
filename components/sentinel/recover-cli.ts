// npm run recover -- --stack <name> [--keep <node>]
// Split-brain recovery (see recover.ts). Without --keep it asks which node's data survives.
import * as readline from "node:readline/promises";
import { recover } from "./recover";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let stack: string | undefined;
  let keep: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack") stack = argv[++i];
    else if (argv[i] === "--keep") keep = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}; usage: npm run recover -- --stack <name> [--keep <node>]`);
  }
  if (!stack) throw new Error("usage: npm run recover -- --stack <name> [--keep <node>]");
  await recover({
    stackFile: stack,
    log: (l) => process.stderr.write(`recover: ${l}\n`),
    choose: async (_reports, suggested) => {
      if (keep) return keep;
      const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = (await rl.question(`recover: which node's data survives?${suggested ? ` [${suggested}]` : ""} `)).trim();
        return answer || suggested || "";
      } finally {
        rl.close();
      }
    },
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`recover: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
