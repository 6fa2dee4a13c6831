// The local lab without the Pulumi CLI: `up` converges a lab stack on the local Docker engine by
// executing the program's resources (apply.ts); `destroy` removes its containers and network.
// Usage: node dist/components/offline/lab-cli.js up|destroy [--stack lab] [--force-commands]
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../config/load";
import { projectRoot } from "../host/assets";
import { applyStack, destroyStack, StepError } from "./apply";
import { runOk } from "./run";

/** The lab key pair named by Pulumi.lab.yaml (ssh.privateKeyFile), made once per checkout. */
export async function ensureLabKey(root = projectRoot()): Promise<void> {
  const key = path.join(root, ".lab", "ssh", "id_ed25519");
  if (fs.existsSync(key)) return;
  fs.mkdirSync(path.dirname(key), { recursive: true, mode: 0o700 });
  await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "gitlab-ha-lab", "-f", key]);
}

export const stateFileOf = (stack: string, root = projectRoot()) => path.join(root, ".lab", "state", `${stack}.json`);

async function main(): Promise<void> {
  const [verb, ...rest] = process.argv.slice(2);
  let stack = "lab";
  let force = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--stack") stack = rest[++i] ?? stack;
    else if (rest[i] === "--force-commands") force = true;
    else throw new Error(`unknown argument ${rest[i]}`);
  }
  const log = (l: string) => process.stderr.write(`lab: ${l}\n`);
  const o = { stackFile: stack, stateFile: stateFileOf(stack), forceCommands: force, log };
  if (verb === "up") {
    await ensureLabKey();
    const started = Date.now();
    const report = await applyStack(o);
    const changed = report.ran.filter((s) => s.changes.length > 0).length;
    log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${report.ran.length} steps ran (${changed} changed something), ${report.skipped.length} unchanged`);
  } else if (verb === "destroy") {
    await destroyStack(o);
    log("destroyed");
  } else {
    throw new Error("usage: lab-cli.js up|destroy [--stack <name>] [--force-commands]");
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    const known = err instanceof ConfigError || err instanceof StepError;
    process.stderr.write(`lab: ${known || !(err instanceof Error) ? String((err as Error).message ?? err) : err.stack}\n`);
    process.exit(1);
  });
}
