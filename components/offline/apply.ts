// The lab executor: converges a stack on real hosts without the Pulumi CLI by executing the
// resources the program declares (evaluate.ts), in dependency order, with Pulumi's update rule:
// a resource runs when its inputs differ from the last successful run (kept in a state file).
// `forceCommands` re-runs every command as if all were replaced, to prove the scripts idempotent.
// It implements exactly the resource types and inputs the program uses and refuses others.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../host/assets";
import { hostOf } from "../host/script";
import { ensureContainer, ensureNetwork, removeContainer, removeNetwork } from "./docker-driver";
import { evaluateProgram, EvaluatedResource, Evaluation, SECRET } from "./evaluate";
import { topologicalOrder } from "./graph";
import { run, tail } from "./run";
import { Connection, sshRun } from "./ssh-driver";
import { readStackFile, type StackFile } from "./stack-file";

const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";

export interface ApplyOptions {
  /** Stack file to read (Pulumi.<stackFile>.yaml). */
  readonly stackFile: string;
  /** Stack name the program sees (names lab containers); defaults to stackFile. */
  readonly stack?: string;
  /** Replaces top-level config keys (tests run the lab config under their own names and ports). */
  readonly overrides?: Record<string, unknown>;
  readonly stateFile: string;
  /** Re-run every command even when its inputs did not change. */
  readonly forceCommands?: boolean;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  readonly projectDir?: string;
}

export interface StepReport {
  readonly id: string;
  readonly host?: string;
  /** "gitlab-ha: changed:" lines the step printed (empty: it changed nothing). */
  readonly changes: readonly string[];
  readonly seconds: number;
}

export interface ApplyReport {
  readonly ran: readonly StepReport[];
  readonly skipped: readonly string[];
  readonly evaluation: Evaluation;
}

interface State {
  resources: Record<string, { hash: string; container?: string; engine?: string }>;
  /** Values the engine generates once and keeps (random passwords), by resource name. */
  generated: Record<string, string>;
}

function loadState(file: string): State {
  if (!fs.existsSync(file)) return { resources: {}, generated: {} };
  return JSON.parse(fs.readFileSync(file, "utf8")) as State;
}

function saveState(file: string, state: State): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

const hashOf = (r: EvaluatedResource) => crypto.createHash("sha256").update(stableJson(r.values)).digest("hex").slice(0, 16);

/** Evaluates the stack as `pulumi up` would: generated values come from (and go to) the state. */
async function evaluateForApply(o: ApplyOptions, state: State): Promise<{ evaluation: Evaluation; file: StackFile }> {
  const projectDir = o.projectDir ?? projectRoot();
  const file = readStackFile(projectDir, o.stackFile, o.overrides);
  const evaluation = await evaluateProgram({
    ...file,
    stack: o.stack ?? o.stackFile,
    projectDir,
    preview: false,
    computed: (type, name) => {
      if (type !== RANDOM_PASSWORD) return {};
      state.generated[name] ??= crypto.randomBytes(24).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, 32);
      return { result: state.generated[name] };
    },
  });
  return { evaluation, file };
}

export async function applyStack(o: ApplyOptions): Promise<ApplyReport> {
  const log = o.log ?? (() => undefined);
  const projectDir = o.projectDir ?? projectRoot();
  const state = loadState(o.stateFile);
  log(`evaluating stack ${o.stack ?? o.stackFile}`);
  const { evaluation, file } = await evaluateForApply(o, state);
  const engineOf = enginesOf(evaluation);
  const order = topologicalOrder(evaluation.resources);
  const redact = redactor(evaluation, [...Object.values(state.generated), ...file.secretKeys.map((k) => file.config[k]!)]);
  const ran: StepReport[] = [];
  const skipped: string[] = [];

  for (const [i, r] of order.entries()) {
    const hash = hashOf(r);
    const unchanged = state.resources[r.id]?.hash === hash;
    const isCommand = r.type === "command:remote:Command" || r.type === "command:local:Command";
    if (unchanged && !(isCommand && o.forceCommands)) {
      skipped.push(r.id);
      continue;
    }
    const started = Date.now();
    const host = r.type === "command:remote:Command" ? hostOf(String(r.values.create)) : undefined;
    log(`[${i + 1}/${order.length}] ${host ? `${host}: ` : ""}${r.name}`);
    const changes = await execute(r, { engine: engineOf(r), projectDir, hash, host }).catch((e: unknown) => {
      throw e instanceof StepError ? new StepError(e.resource, e.host, e.code, redact(e.output)) : e;
    });
    state.resources[r.id] = { hash, ...(r.type === "docker:index/container:Container" ? { container: String(r.values.name), engine: engineOf(r) } : {}) };
    saveState(o.stateFile, state);
    for (const c of changes) log(`    ${c}`);
    ran.push({ id: r.id, ...(host ? { host } : {}), changes, seconds: (Date.now() - started) / 1000 });
  }

  // Resources the program no longer declares: lab containers and networks go away.
  const declared = new Set(evaluation.resources.map((r) => r.id));
  for (const id of Object.keys(state.resources).filter((id) => !declared.has(id))) {
    const container = state.resources[id]!.container;
    log(`forgetting ${id}: no longer declared${container ? `; removing container ${container}` : ""}`);
    if (container) await removeContainer(container, state.resources[id]!.engine ?? DEFAULT_ENGINE);
    delete state.resources[id];
  }
  saveState(o.stateFile, state);
  return { ran, skipped, evaluation };
}

/** Removes what the lab stack created on the engine and forgets its state. */
export async function destroyStack(o: ApplyOptions): Promise<void> {
  const log = o.log ?? (() => undefined);
  const state = loadState(o.stateFile);
  const { evaluation } = await evaluateForApply(o, state);
  const engineOf = enginesOf(evaluation);
  for (const r of [...topologicalOrder(evaluation.resources)].reverse()) {
    if (r.type === "docker:index/container:Container") {
      log(`removing container ${String(r.values.name)}`);
      await removeContainer(String(r.values.name), engineOf(r));
    } else if (r.type === "docker:index/network:Network") {
      log(`removing network ${String(r.values.name)}`);
      await removeNetwork(String(r.values.name), engineOf(r));
    }
  }
  fs.rmSync(o.stateFile, { force: true });
}

const DEFAULT_ENGINE = "unix:///var/run/docker.sock";

/** The Docker engine of a resource: its provider's host, or the default local engine. */
function enginesOf(evaluation: Evaluation): (r: EvaluatedResource) => string {
  const byId = new Map(evaluation.resources.map((r) => [r.id, r]));
  return (r) => {
    const p = r.options.provider ? byId.get(r.options.provider) : undefined;
    if (p?.values.sshOpts) throw new Error(`lab executor: docker provider ${p.name} with sshOpts is not implemented`);
    return p ? String(p.values.host ?? DEFAULT_ENGINE) : DEFAULT_ENGINE;
  };
}

interface Context {
  readonly engine: string;
  readonly projectDir: string;
  readonly hash: string;
  readonly host: string | undefined;
}

const changedLines = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("gitlab-ha: changed: ")).map((l) => l.slice(20));

async function execute(r: EvaluatedResource, ctx: Context): Promise<string[]> {
  const v = r.values;
  switch (r.type) {
    case "pulumi:providers:docker":
    case RANDOM_PASSWORD:
      return [];
    case "docker:index/network:Network":
      return (await ensureNetwork(v, ctx.engine)) ? [`network ${String(v.name)} created`] : [];
    case "docker:index/container:Container":
      return (await ensureContainer(v, ctx.engine, ctx.hash)) ? [`container ${String(v.name)} created`] : [];
    case "command:local:Command": {
      const env = { ...process.env, ...((v.environment as Record<string, string> | undefined) ?? {}) };
      const res = await run("bash", ["-c", String(v.create)], { cwd: ctx.projectDir, env, ...(v.stdin !== undefined ? { stdin: String(v.stdin) } : {}) });
      if (res.code !== 0) throw new StepError(r, "local", res.code, res.stdout + res.stderr);
      return changedLines(res.stdout);
    }
    case "command:remote:Command": {
      const res = await sshRun(v.connection as Connection, String(v.create), v.stdin !== undefined ? String(v.stdin) : undefined);
      if (res.code !== 0) throw new StepError(r, ctx.host ?? "?", res.code, res.stdout + res.stderr);
      return changedLines(res.stdout);
    }
    default:
      throw new Error(`lab executor: resource type ${r.type} (${r.name}) is not implemented`);
  }
}

/** A failed step, named by host and resource, with the end of its output (secrets redacted). */
export class StepError extends Error {
  constructor(readonly resource: EvaluatedResource, readonly host: string, readonly code: number, readonly output: string) {
    super(`${host}: step ${resource.name} failed (exit ${code}):\n${tail(output)}`);
    this.name = "StepError";
  }
}

/**
 * Replaces every secret value of the evaluation's inputs (and each line of multi-line ones), and
 * the given values (generated passwords, config secrets), in a text.
 */
export function redactor(evaluation: Evaluation, extra: readonly string[] = []): (text: string) => string {
  const secrets = new Set<string>(extra.filter((s) => s.length >= 6));
  const collect = (display: unknown, value: unknown): void => {
    if (display === SECRET) {
      const strings: string[] = [];
      const leaves = (v: unknown): void => {
        if (typeof v === "string") strings.push(v, ...v.split("\n"));
        else if (v && typeof v === "object") Object.values(v).forEach(leaves);
      };
      leaves(value);
      for (const s of strings) if (s.trim().length >= 6) secrets.add(s.trim());
    } else if (display && typeof display === "object" && value && typeof value === "object") {
      for (const k of Object.keys(display)) collect((display as Record<string, unknown>)[k], (value as Record<string, unknown>)[k]);
    }
  };
  for (const r of evaluation.resources) collect(r.display, r.values);
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => ordered.reduce((t, s) => t.split(s).join(SECRET), text);
}
