// npm run recover -- --stack <name> [--keep <node>]
// Split-brain recovery (see recover.ts). Without --keep it asks which node's data survives; it
// always asks the operator to type the victim's name. Neither question has a default: an empty
// answer refuses, before anything was stopped.
import * as readline from "node:readline";
import { recover } from "./recover";

const USAGE = "usage: npm run recover -- --stack <name> [--keep <node>]";

/** Answers read from stdin one line at a time, through a single reader (piped input included). */
function lineReader(): { ask: (question: string) => Promise<string>; close: () => void } {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  const lines: string[] = [];
  const waiting: ((l: string | undefined) => void)[] = [];
  let closed = false;
  rl.on("line", (l) => (waiting.length ? waiting.shift()!(l) : lines.push(l)));
  rl.on("close", () => {
    closed = true;
    for (const w of waiting.splice(0)) w(undefined);
  });
  return {
    ask: (question) => {
      process.stderr.write(question);
      if (lines.length) return Promise.resolve(lines.shift()!);
      if (closed) return Promise.resolve("");
      return new Promise((resolve) => waiting.push((l) => resolve(l ?? "")));
    },
    close: () => rl.close(),
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let stack: string | undefined;
  let keep: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack") stack = argv[++i];
    else if (argv[i] === "--keep") keep = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}; ${USAGE}`);
  }
  if (!stack) throw new Error(USAGE);
  const input = lineReader();
  try {
    await recover({
      stackFile: stack,
      log: (l) => process.stderr.write(`recover: ${l}\n`),
      survivor: async (_reports, suggested) =>
        keep ?? (await input.ask(`recover: which node's data survives?${suggested ? ` (newest git data: ${suggested}; type the name, there is no default)` : ""} `)),
      confirmVictim: (victim, survivor) =>
        input.ask(`recover: everything written on ${victim} since the split will be DISCARDED and replaced by ${survivor}'s data. Type the victim's node name to go on: `),
    });
  } finally {
    input.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`recover: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
