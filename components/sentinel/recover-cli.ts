// npm run recover -- --stack <name> [--keep <node>]
// Split-brain recovery (see recover.ts). Without --keep it asks which node's data survives; it
// always asks the operator to type the victim's name. Neither question has a default: an empty
// answer refuses, before anything was stopped.
import * as readline from "node:readline";
import { cliArgs, CliSpec, stringOpt } from "../cli/args";
import { recover } from "./recover";

const RECOVER_CLI: CliSpec = {
  name: "recover",
  usage: "npm run recover -- --stack <name> [--keep <node>]",
  summary: [
    "Split-brain recovery of the DRBD volume: reports each node's data, asks which survives (or takes",
    "--keep) and asks you to type the victim's name before anything is stopped. No answer has a default.",
  ],
  options: {
    stack: { value: "<name>", required: true, help: "the stack file Pulumi.<name>.yaml" },
    keep: { value: "<node>", help: "the node whose data survives (asked otherwise)" },
  },
};

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
  const args = cliArgs(RECOVER_CLI);
  const stack = stringOpt(args, "stack")!;
  const keep = stringOpt(args, "keep");
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
