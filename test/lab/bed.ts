// The lab test bed: a Docker engine (started when none runs), and the repository's lab stack
// under its own stack name, so that it can run beside a developer's `npm run lab`: the name alone
// gives it its own network, addresses and ports (components/lab/slots.ts).
// Hosts are converged only by applyStack, i.e. by the program's own resources.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { applyStack, ApplyOptions, ApplyReport, destroyStack } from "../../components/offline/apply";
import { ensureLabKey } from "../../components/offline/lab-cli";
import { run } from "../../components/offline/run";
import { readStackFile } from "../../components/offline/stack-file";
import { ROOT, stackConfigOf } from "../helpers";

export const STACK = "labtest";
const STATE = path.join(ROOT, ".lab", "state", `${STACK}.json`);

/** The lab stack's config as the program derives it for this stack name. */
export const CONFIG = stackConfigOf("lab", STACK);
export const POSTGRES = JSON.parse(readStackFile(ROOT, "lab").config["gitlab-ha:postgres"]!) as Record<string, unknown>;
export const address = (host: string) => CONFIG.hosts.find((h) => h.name === host)!.address;
export const container = (host: string) => `gitlab-ha-${STACK}-${host}`;

export const OPTIONS = { stackFile: "lab", stack: STACK };

const options = (o: { postgres?: Record<string, unknown>; force?: boolean } = {}): ApplyOptions => ({
  stackFile: "lab",
  stack: STACK,
  stateFile: STATE,
  ...(o.postgres ? { overrides: { postgres: { ...POSTGRES, ...o.postgres } } } : {}),
  forceCommands: o.force ?? false,
  log: process.env.LAB_VERBOSE ? (l) => process.stderr.write(`lab: ${l}\n`) : () => undefined,
});

export const converge = (o: { postgres?: Record<string, unknown>; force?: boolean } = {}): Promise<ApplyReport> => applyStack(options(o));

export async function resetLab(): Promise<void> {
  await ensureDockerEngine();
  await ensureLabKey();
  await destroyStack(options());
}

/** A value the executor generated for the stack (random passwords), as the engine keeps it. */
export function generated(name: string): string {
  const state = JSON.parse(fs.readFileSync(STATE, "utf8")) as { generated: Record<string, string> };
  return state.generated[name]!;
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
