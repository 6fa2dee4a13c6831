// The local lab, the project's main job: `up` converges a lab stack on the local Docker engine,
// `destroy` removes it. With a complete Pulumi engine (a `pulumi` on PATH, or the one
// .ci/engine/build made from Go modules) it runs `pulumi up` against a local file backend in
// .lab/pulumi; otherwise it says which piece is missing and why, and converges with the lab
// executor (apply.ts), which executes the program's own resources.
// Usage: node dist/components/offline/lab-cli.js up|destroy [--stack lab] [--executor] [--force-commands]
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../config/load";
import { projectRoot } from "../host/assets";
import { applyStack, destroyStack, StepError } from "./apply";
import { spawnSync } from "node:child_process";
import { runOk } from "./run";
import { builtEngineEnv, findEngine } from "./engine";

export { findPulumi } from "./engine";

/** The lab key pair named by Pulumi.lab.yaml (ssh.privateKeyFile), made once per checkout. */
export async function ensureLabKey(root = projectRoot()): Promise<void> {
  const key = path.join(root, ".lab", "ssh", "id_ed25519");
  if (fs.existsSync(key)) return;
  fs.mkdirSync(path.dirname(key), { recursive: true, mode: 0o700 });
  await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "gitlab-ha-lab", "-f", key]);
}

/** Runs the Pulumi CLI on the lab stack with a local file backend (no account, no network). */
export function pulumiCli(pulumi: string, verb: "up" | "destroy", stack: string, root = projectRoot(), extraEnv: NodeJS.ProcessEnv = {}): void {
  const backend = path.join(root, ".lab", "pulumi");
  fs.mkdirSync(backend, { recursive: true });
  // Lab stacks hold no real secrets: an empty passphrase unless the caller sets one.
  const env = { ...process.env, ...extraEnv, PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "" };
  const call = (args: string[]) => {
    const r = spawnSync(pulumi, args, { cwd: root, env, stdio: "inherit" });
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
  };
  call(["stack", "select", "--create", "--non-interactive", stack]);
  call([verb, "--yes", "--non-interactive", "--stack", stack]);
}

export const stateFileOf = (stack: string, root = projectRoot()) => path.join(root, ".lab", "state", `${stack}.json`);

async function main(): Promise<void> {
  const [verb, ...rest] = process.argv.slice(2);
  let stack = "lab";
  let force = false;
  let executor = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--stack") stack = rest[++i] ?? stack;
    else if (rest[i] === "--force-commands") force = true;
    else if (rest[i] === "--executor") executor = true;
    else throw new Error(`unknown argument ${rest[i]}`);
  }
  const log = (l: string) => process.stderr.write(`lab: ${l}\n`);
  const o = { stackFile: stack, stateFile: stateFileOf(stack), forceCommands: force, log };
  if (verb !== "up" && verb !== "destroy") throw new Error("usage: lab-cli.js up|destroy [--stack <name>] [--executor] [--force-commands]");
  if (verb === "up") await ensureLabKey();
  const engine = executor || force ? undefined : findEngine();
  if (engine && engine.kind !== "none") {
    log(`running ${engine.pulumi} ${verb} on stack ${stack} (backend .lab/pulumi)`);
    const extra = engine.kind === "built" ? builtEngineEnv() : {};
    pulumiCli(engine.pulumi, verb, stack, projectRoot(), extra);
    return;
  }
  if (engine) log(`not using \`pulumi ${verb}\`: ${engine.reason}. Converging with the lab executor instead.`);
  if (verb === "up") {
    const started = Date.now();
    const report = await applyStack(o);
    const changed = report.ran.filter((s) => s.changes.length > 0).length;
    log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${report.ran.length} steps ran (${changed} changed something), ${report.skipped.length} unchanged`);
    // Ports are derived from the stack name (components/lab/slots.ts): say where the hosts are.
    for (const line of (report.evaluation.outputs.lab as { ssh?: string[] } | undefined)?.ssh ?? []) log(line);
  } else {
    await destroyStack(o);
    log("destroyed");
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    const known = err instanceof ConfigError || err instanceof StepError;
    process.stderr.write(`lab: ${known || !(err instanceof Error) ? String((err as Error).message ?? err) : err.stack}\n`);
    process.exit(1);
  });
}
