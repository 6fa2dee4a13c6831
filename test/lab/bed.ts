// The lab test bed: the repository's lab stack under its own stack name (so that it runs beside a
// developer's `npm run lab`: the name alone gives it its own network, addresses and ports,
// components/lab/slots.ts), converged by the real engine: `stack.up()` through the Automation API
// at the engine's default parallelism, with exactly what the program declares.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineEvent, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import * as YAML from "yaml";
import { engineEnv, engineStack, LAB_BACKEND, projectProgram, projectStack, requireEngine } from "../../.ci/engine/workspace";
import { ensureLabKey } from "../../components/lab/cli";
import { hostOf } from "../../components/host/script";
import { run } from "../../components/offline/run";
import { sshRun, type Connection } from "../../components/offline/ssh-driver";
import { readStackFile } from "../../components/offline/stack-file";
import { ROOT, stackConfigOf } from "../helpers";

export const STACK = "labtest";
/** The test's own stack file, generated from Pulumi.lab.yaml (gitignored: Pulumi.labtest*.yaml). */
const STACK_FILE = path.join(ROOT, `Pulumi.${STACK}.yaml`);

/** The lab stack's config as the program derives it for this stack name. */
export const CONFIG = stackConfigOf("lab", STACK);
export const POSTGRES = JSON.parse(readStackFile(ROOT, "lab").config["gitlab-ha:postgres"]!) as Record<string, unknown>;
export const address = (host: string) => CONFIG.hosts.find((h) => h.name === host)!.address;
export const container = (host: string) => `gitlab-ha-${STACK}-${host}`;
/** How the operator commands (recover, db:failover) name this stack. */
export const OPTIONS = { stackFile: "lab", stack: STACK };

/** A command step that ran in this converge. */
export interface Step {
  readonly name: string;
  readonly type: string;
  readonly op: string;
  /** The host named in the step's script; undefined for local steps. */
  readonly host?: string;
  /** "gitlab-ha: changed:" lines it printed (empty: it changed nothing; secret steps log nothing). */
  readonly changes: readonly string[];
}

export interface ConvergeReport {
  readonly ran: readonly Step[];
  readonly outputs: Record<string, unknown>;
  /** Every command resource of the stack after the converge. */
  readonly commands: number;
}

/** A step failed on a host: the resource, and the engine's message (the command's output, redacted). */
export class StepError extends Error {
  constructor(
    readonly resource: { readonly name: string; readonly type: string },
    message: string,
  ) {
    super(`${resource.type} ${resource.name}: ${message}`);
  }
}

const nameOf = (urn: string) => urn.split("::").pop()!;
const typeOf = (urn: string) => urn.split("::").slice(-2, -1)[0]!.split("$").pop()!;
const changedLines = (stdout: unknown) =>
  typeof stdout === "string" ? stdout.split("\n").filter((l) => l.startsWith("gitlab-ha: changed: ")).map((l) => l.slice(20)) : [];
const RAN = new Set(["create", "update", "replace", "create-replacement"]);

export interface Overrides {
  /** Merged into the lab's gitlab-ha:postgres. */
  readonly postgres?: Record<string, unknown>;
  /** Replaces the lab's gitlab-ha:hosts (e.g. the database roles swapped). */
  readonly hosts?: readonly Record<string, unknown>[];
}

/** The lab's hosts as Pulumi.lab.yaml lists them. */
export const LAB_HOSTS = (YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.lab.yaml"), "utf8")) as { config: Record<string, unknown> }).config["gitlab-ha:hosts"] as Record<string, unknown>[];

/** Writes the test stack's file: Pulumi.lab.yaml (salt included) with the overrides. */
function writeStackFile(o: Overrides = {}): void {
  const doc = YAML.parseDocument(fs.readFileSync(path.join(ROOT, "Pulumi.lab.yaml"), "utf8"));
  if (o.postgres) doc.setIn(["config", "gitlab-ha:postgres"], { ...POSTGRES, ...o.postgres });
  if (o.hosts) doc.setIn(["config", "gitlab-ha:hosts"], o.hosts);
  fs.writeFileSync(STACK_FILE, doc.toString());
}

let cached: Stack | undefined;
async function labStack(): Promise<Stack> {
  if (!fs.existsSync(STACK_FILE)) writeStackFile();
  cached ??= await projectStack(STACK);
  return cached;
}

const verbose = (s: string) => {
  if (process.env.LAB_VERBOSE) process.stderr.write(s);
};

/**
 * `pulumi up` of the test stack. With `force`, every host step's script then runs once more over
 * SSH in state order, as the engine would on a change of its inputs: the idempotency proof (a
 * second run changes nothing) and the way drift on a host is healed in these tests.
 */
export async function converge(o: Overrides & { force?: boolean } = {}): Promise<ConvergeReport> {
  writeStackFile(o);
  const stack = await labStack();
  const ran: Step[] = [];
  const failures: { name: string; type: string; message: string }[] = [];
  const onEvent = (e: EngineEvent) => {
    const out = e.resOutputsEvent?.metadata;
    if (out && RAN.has(out.op) && out.type.startsWith("command:")) {
      const create = out.new?.inputs?.create;
      const host = typeof create === "string" ? hostOf(create) : undefined;
      ran.push({ name: nameOf(out.urn), type: out.type, op: out.op, ...(host ? { host } : {}), changes: changedLines(out.new?.outputs?.stdout) });
    }
    const d = e.diagnosticEvent;
    if (d && d.severity === "error" && d.urn && !d.urn.endsWith(`pulumi:pulumi:Stack::gitlab-ha-${STACK}`)) {
      failures.push({ name: nameOf(d.urn), type: typeOf(d.urn), message: d.message });
    }
  };
  let outputs: Record<string, unknown>;
  try {
    const r = await stack.up({ onEvent, onOutput: verbose });
    outputs = Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.value]));
  } catch (e) {
    const f = failures[0];
    if (f) throw new StepError({ name: f.name, type: f.type }, f.message);
    throw e;
  }
  const state = exportState();
  const commands = state.filter((r) => r.type === "command:remote:Command");
  if (!o.force) return { ran, outputs, commands: commands.length };
  return { ran: await rerun(commands), outputs, commands: commands.length };
}

interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
}

/** `pulumi stack export` of the test stack as the CLI prints it (secrets encrypted unless shown). */
export function exportText(o: { showSecrets?: boolean } = {}): string {
  const engine = requireEngine();
  const r = spawnSync(engine.pulumi, ["stack", "export", ...(o.showSecrets ? ["--show-secrets"] : []), "--stack", STACK], {
    cwd: ROOT,
    env: { ...process.env, ...engineEnv(engine, LAB_BACKEND) },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`pulumi stack export: ${r.stderr}`);
  return r.stdout;
}

/** The stack's resources with secrets in plaintext (the test's own lab stack only). */
export function exportState(): StateResource[] {
  return (unwrapSecrets(JSON.parse(exportText({ showSecrets: true }))) as { deployment: { resources?: StateResource[] } }).deployment.resources ?? [];
}

/** `--show-secrets` keeps each secret as `{<secret signature>, plaintext: <its JSON>}`: the values themselves. */
function unwrapSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[SECRET_SIG] !== undefined && typeof o.plaintext === "string") return unwrapSecrets(JSON.parse(o.plaintext));
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Runs each host step's create script again over SSH, with its stdin, in state order. */
async function rerun(commands: readonly StateResource[]): Promise<Step[]> {
  const steps: Step[] = [];
  for (const c of commands) {
    const inputs = c.inputs ?? {};
    const create = String(inputs.create);
    // The connection as the program declared it (key, port, retries), as the operator commands use it.
    const r = await sshRun(inputs.connection as Connection, create, typeof inputs.stdin === "string" ? inputs.stdin : undefined);
    const name = nameOf(c.urn);
    if (r.code !== 0) throw new StepError({ name, type: c.type }, `exit ${r.code}:\n${r.stdout}${r.stderr}`);
    const host = hostOf(create);
    steps.push({ name, type: c.type, op: "rerun", ...(host ? { host } : {}), changes: changedLines(r.stdout) });
  }
  return steps;
}

/**
 * `pulumi refresh` and then `pulumi preview`, both with `--expect-no-changes`: the providers read
 * back exactly what the program declares (no drift such as a container's read-back shape).
 */
export async function assertNoDrift(): Promise<void> {
  const stack = await labStack();
  await stack.refresh({ expectNoChanges: true, onOutput: verbose });
  await stack.preview({ expectNoChanges: true, onOutput: verbose });
}

/**
 * `pulumi preview --policy-pack components/policy/pack` of the test stack, with the project's
 * program or a variant of it; resolves with the CLI's output, or rejects with it.
 */
export async function previewWithPolicies(program: PulumiFn = projectProgram): Promise<string> {
  const stack = await engineStack({ stackName: STACK, workDir: ROOT, backendDir: LAB_BACKEND, program });
  let out = "";
  try {
    await stack.preview({ policyPacks: [path.join(ROOT, "components", "policy", "pack")], onOutput: (s) => (out += s) });
  } catch {
    throw new Error(out);
  }
  return out;
}

/** The stack's containers, networks and volumes left on the engine (by name prefix and label). */
export async function leftOnEngine(): Promise<string[]> {
  const prefix = `gitlab-ha-${STACK}`;
  const list = async (args: string[]) => (await run("docker", args)).stdout.split("\n").filter((l) => l.startsWith(prefix));
  return [
    ...(await list(["ps", "-a", "--format", "{{.Names}}"])),
    ...(await list(["network", "ls", "--format", "{{.Name}}"])),
    ...(await list(["volume", "ls", "--format", "{{.Name}}"])),
  ];
}

/** Destroys the test stack (containers, network, volumes) and removes its state and file. */
export async function resetLab(): Promise<void> {
  await ensureDockerEngine();
  ensureLabKey();
  const stack = await labStack();
  await stack.destroy({ onOutput: verbose });
  await stack.workspace.removeStack(STACK);
  cached = undefined;
  fs.rmSync(STACK_FILE, { force: true });
}

/** A value the stack generated (random passwords: the RandomPassword resource of that name). */
export function generated(name: string): string {
  const r = exportState().find((x) => x.type === "random:index/randomPassword:RandomPassword" && nameOf(x.urn) === name);
  if (!r) throw new Error(`no RandomPassword ${name} in the stack`);
  return String(r.outputs!.result);
}

/** Runs a shell snippet in a lab host (observation and fault injection only). */
export async function sh(host: string, script: string, stdin?: string): Promise<string> {
  const r = await run("docker", ["exec", "-i", container(host), "bash", "-c", script], stdin !== undefined ? { stdin } : {});
  if (r.code !== 0) throw new Error(`${host}: ${script}\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

export const psql = (host: string, sql: string, db = "postgres") =>
  sh(host, `runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -d ${db} -c "$(cat)"`, sql);

export async function waitFor<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts dockerd when no engine answers (machines without systemd). */
export async function ensureDockerEngine(): Promise<void> {
  if ((await run("docker", ["info"])).code === 0) return;
  fs.mkdirSync(path.join(ROOT, ".lab"), { recursive: true });
  const log = fs.openSync(path.join(ROOT, ".lab", "dockerd.log"), "a");
  spawn("dockerd", [], { detached: true, stdio: ["ignore", log, log] }).unref();
  await waitFor("dockerd", 60, async () => ((await run("docker", ["info"])).code === 0 ? true : undefined));
}
