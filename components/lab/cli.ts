// The project's main job: the local lab stack through the real Pulumi engine. The program runs
// inline on the SDK's language runtime (Automation API; no language host exists here), the CLI's
// own progress and summary are streamed as they come, state goes to a file backend in .lab/pulumi
// with the empty passphrase (Pulumi.lab.yaml carries its salt, so no tracked file changes).
// Automation API rather than a hand-started `pulumi up --client`: it is the SDK's supported way to
// run an inline program (LanguageServer is @internal), and the tests drive the same code.
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import type { Stack } from "@pulumi/pulumi/automation";
import { findEngine, projectStack, REPO_ROOT } from "../../.ci/engine/workspace";
import { cliArgs, CliSpec, stringOpt } from "../cli/args";

export const LAB_CLI: CliSpec = {
  name: "lab",
  usage: "npm run lab -- [up|preview|refresh|destroy] [--stack <name>]   (npm run lab:destroy: destroy)",
  summary: [
    "Runs a lab stack (default lab, from Pulumi.lab.yaml; another lab is a copy of that file under",
    "another stack name) on the local Docker engine through the Pulumi engine .ci/setup built.",
    "State: .lab/pulumi (file backend, empty passphrase).",
    "  up       create or converge the lab (the default)",
    "  preview  show what up would change, with the diff",
    "  refresh  read the hosts' real state into the stack",
    "  destroy  remove the lab's containers, network and volumes, then the stack's state",
  ],
  positionals: [{ name: "verb", values: ["up", "preview", "refresh", "destroy"], default: "up" }],
  options: { stack: { value: "<name>", help: "the stack file Pulumi.<name>.yaml (default lab)" } },
};

export type Verb = "up" | "preview" | "refresh" | "destroy";

/** The lab key pair named by Pulumi.lab.yaml (ssh.privateKeyFile), made once per checkout. */
export function ensureLabKey(root = REPO_ROOT): void {
  const key = path.join(root, ".lab", "ssh", "id_ed25519");
  if (fs.existsSync(key)) return;
  fs.mkdirSync(path.dirname(key), { recursive: true, mode: 0o700 });
  const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "gitlab-ha-lab", "-f", key], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

/** Runs one verb on a stack, streaming the CLI's output; returns the stack's outputs after up. */
export async function runVerb(stack: Stack, verb: Verb, out: (s: string) => void): Promise<Record<string, unknown>> {
  const onOutput = out;
  switch (verb) {
    case "up": {
      const r = await stack.up({ onOutput });
      return Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.value]));
    }
    case "preview":
      await stack.preview({ onOutput, diff: true });
      return {};
    case "refresh":
      await stack.refresh({ onOutput });
      return {};
    case "destroy":
      await stack.destroy({ onOutput });
      // `pulumi stack rm` deletes Pulumi.<stack>.yaml too unless told to keep it: the stack file
      // is the user's (and Pulumi.lab.yaml is tracked).
      await stack.workspace.removeStack(stack.name, { preserveConfig: true });
      return {};
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const parsed = cliArgs(LAB_CLI, argv);
  const args = { verb: parsed.positionals[0] as Verb, stack: stringOpt(parsed, "stack") ?? "lab" };
  if (!/^[A-Za-z0-9_.-]+$/.test(args.stack)) {
    process.stderr.write(`lab: not a stack name: ${JSON.stringify(args.stack)}\nusage: ${LAB_CLI.usage}\n`);
    return 2;
  }
  const log = (l: string) => process.stderr.write(`lab: ${l}\n`);
  const engine = findEngine();
  if (engine.kind === "none") {
    log(`cannot run: ${engine.reason}`);
    return 1;
  }
  if (!fs.existsSync(path.join(REPO_ROOT, `Pulumi.${args.stack}.yaml`))) {
    log(`no stack file Pulumi.${args.stack}.yaml (a lab stack is a copy of Pulumi.lab.yaml: cp Pulumi.lab.yaml Pulumi.${args.stack}.yaml)`);
    return 1;
  }
  ensureLabKey();
  log(`${args.verb} of stack ${args.stack} with ${engine.pulumi} (backend .lab/pulumi)`);
  log(`providers: ${engine.providers}`);
  const stack = await projectStack(args.stack, { engine });
  try {
    const outputs = await runVerb(stack, args.verb, (s) => process.stdout.write(s));
    // Ports are derived from the stack name (components/lab/slots.ts): say where the hosts are.
    for (const line of (outputs.lab as { ssh?: string[] } | undefined)?.ssh ?? []) log(line);
    return 0;
  } catch {
    // The CLI's own output, errors included, was streamed above.
    log(`pulumi ${args.verb} of stack ${args.stack} failed (its output is above)`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`lab: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
