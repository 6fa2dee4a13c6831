// Which Pulumi engine the main job can use. A `pulumi` on PATH always wins (a user's workstation,
// used as it is). Otherwise the engine built by .ci/engine/build from Go modules is used when every
// piece of it was built; when some could not be, this says which and why (from the build's status
// file) instead of falling back silently.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface EnginePiece {
  readonly name: string;
  readonly version: string;
  readonly ok: boolean;
  /** The binary when built; otherwise the failed step and the last line of Go's output. */
  readonly detail: string;
}

/** Environment for running the built engine: its pieces on PATH, its plugins in its PULUMI_HOME. */
export function builtEngineEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const cache = engineCache(env);
  return {
    PATH: `${path.join(cache, "path")}${path.delimiter}${env.PATH ?? ""}`,
    PULUMI_HOME: path.join(cache, "pulumi-home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
}

export type Engine =
  | { readonly kind: "path"; readonly pulumi: string }
  | { readonly kind: "built"; readonly pulumi: string; readonly pieces: readonly EnginePiece[] }
  | { readonly kind: "none"; readonly reason: string; readonly pieces: readonly EnginePiece[] };

export const engineCache = (env: NodeJS.ProcessEnv = process.env) =>
  env.GITLAB_HA_ENGINE_CACHE || path.join(env.HOME || os.homedir(), ".cache", "gitlab-ha", "engine");

/** The pulumi executable on PATH, if any. */
export function findPulumi(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, "pulumi");
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The pieces .ci/engine/build recorded (tab-separated: name, version, ok|missing, detail). */
export function readEngineStatus(cache: string): EnginePiece[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(cache, "status"), "utf8");
  } catch {
    return undefined;
  }
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const [name = "", version = "", state = "", ...rest] = l.split("\t");
      return { name, version, ok: state === "ok", detail: rest.join(" ") };
    });
}

export function findEngine(env: NodeJS.ProcessEnv = process.env): Engine {
  const onPath = findPulumi(env);
  if (onPath) return { kind: "path", pulumi: onPath };
  const pieces = readEngineStatus(engineCache(env));
  if (!pieces) return { kind: "none", reason: "no Pulumi CLI on PATH and no engine built yet (run: bash .ci/setup)", pieces: [] };
  const missing = pieces.filter((p) => !p.ok);
  const cli = pieces.find((p) => p.name === "pulumi" && p.ok);
  if (missing.length === 0 && cli) return { kind: "built", pulumi: cli.detail, pieces };
  const reason = `the engine built from Go modules is incomplete: ${missing.map((p) => `${p.name} ${p.version} (${p.detail})`).join("; ")}`;
  return { kind: "none", reason, pieces };
}

/** A runnable `pulumi` CLI (on PATH, or built), even when the rest of the engine is missing. */
export function findCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findPulumi(env) ?? readEngineStatus(engineCache(env))?.find((p) => p.name === "pulumi" && p.ok)?.detail;
}
