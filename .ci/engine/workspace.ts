// The Pulumi engine as the program, its tools and its tests use it: which CLI, which PULUMI_HOME,
// and Automation API stacks for inline programs. No language host is needed: the Automation API
// runs an inline program on the SDK's in-process language runtime and passes its address to the
// CLI with `--client` (@pulumi/pulumi sdk/nodejs/automation/stack.ts `up`: `new LanguageServer`,
// then `--client=127.0.0.1:<port>`).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, PulumiFn, Stack } from "@pulumi/pulumi/automation";

/** The repository root: this file is .ci/engine/workspace.ts, compiled to dist/.ci/engine/. */
export const REPO_ROOT = (() => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no Pulumi.yaml above ${__dirname}`);
    dir = up;
  }
  return dir;
})();

/** The plugins the program needs, at the versions its npm pins send (package.json). */
export const NEEDED_PLUGINS: readonly { kind: string; name: string; version: string }[] = [
  { kind: "resource", name: "docker", version: "5.0.0" },
  { kind: "resource", name: "random", version: "4.21.1" },
  { kind: "resource", name: "command", version: "1.2.1" },
];

export const engineCache = (env: NodeJS.ProcessEnv = process.env) =>
  env.GITLAB_HA_ENGINE_CACHE || path.join(env.HOME || os.homedir(), ".cache", "gitlab-ha", "engine");

/** The checkout's own PULUMI_HOME, where .ci/engine/build installs the plugins (never ~/.pulumi). */
export const projectPulumiHome = (root = REPO_ROOT) => path.join(root, ".lab", "pulumi-home");

export interface EnginePiece {
  readonly name: string;
  readonly version: string;
  readonly ok: boolean;
  /** The binary when built; otherwise the failed step and the last line of Go's output. */
  readonly detail: string;
}

/** The pieces .ci/engine/build recorded (tab-separated: name, version, ok|missing, detail). */
export function readEngineStatus(cache = engineCache()): EnginePiece[] | undefined {
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

export type Engine =
  | {
      readonly kind: "path" | "built";
      /** The CLI's root: `<root>/bin/pulumi` (what PulumiCommand.get expects). */
      readonly cliRoot: string;
      readonly pulumi: string;
      /** PULUMI_HOME to run it with; undefined means the user's own (a workstation's CLI). */
      readonly pulumiHome?: string;
      /** Where each plugin comes from, for the user to see. */
      readonly providers: string;
    }
  | { readonly kind: "none"; readonly reason: string };

function onPath(env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, "pulumi");
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return fs.realpathSync(candidate);
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Plugins a CLI sees in a PULUMI_HOME (undefined: the user's own), as "kind/name@version". */
function installedPlugins(pulumi: string, pulumiHome: string | undefined, env: NodeJS.ProcessEnv): Set<string> {
  const r = spawnSync(pulumi, ["plugin", "ls", "--json"], {
    encoding: "utf8",
    env: { ...env, PULUMI_SKIP_UPDATE_CHECK: "true", ...(pulumiHome ? { PULUMI_HOME: pulumiHome } : {}) },
    timeout: 60_000,
  });
  if (r.status !== 0) return new Set();
  try {
    const list = JSON.parse(r.stdout) as { name: string; kind: string; version: string }[];
    return new Set(list.map((p) => `${p.kind}/${p.name}@${p.version}`));
  } catch {
    return new Set();
  }
}

const missingOf = (have: Set<string>) => NEEDED_PLUGINS.filter((p) => !have.has(`${p.kind}/${p.name}@${p.version}`));

/**
 * The engine to use. A `pulumi` on PATH whose own PULUMI_HOME has every plugin the program needs
 * wins (a workstation's installation, real `command` plugin included). Otherwise the engine that
 * .ci/engine/build made: its CLI, the checkout's PULUMI_HOME with upstream's docker and random
 * code and the project's own command provider. Otherwise it says what is missing.
 */
export function findEngine(env: NodeJS.ProcessEnv = process.env, root = REPO_ROOT): Engine {
  const user = onPath(env);
  if (user && missingOf(installedPlugins(user, env.PULUMI_HOME, env)).length === 0) {
    return { kind: "path", cliRoot: path.dirname(path.dirname(user)), pulumi: user, providers: "the plugins of your own Pulumi installation" };
  }
  const cache = engineCache(env);
  const pieces = readEngineStatus(cache);
  if (!pieces) return { kind: "none", reason: "the Pulumi engine is not built yet: run bash .ci/setup" };
  const broken = pieces.filter((p) => !p.ok);
  if (broken.length) {
    return { kind: "none", reason: `the engine built from Go modules is incomplete: ${broken.map((p) => `${p.name} ${p.version} (${p.detail})`).join("; ")}` };
  }
  const pulumi = path.join(cache, "bin", "pulumi");
  const home = projectPulumiHome(root);
  const missing = missingOf(installedPlugins(pulumi, home, env));
  if (missing.length) {
    return { kind: "none", reason: `plugins not installed in ${home}: ${missing.map((p) => `${p.name} ${p.version}`).join(", ")} (run: bash .ci/setup)` };
  }
  return {
    kind: "built",
    cliRoot: cache,
    pulumi,
    pulumiHome: home,
    providers: "docker 5.0.0 and random 4.21.1: upstream provider code built from Go modules; command 1.2.1: the project's own TypeScript provider (.ci/engine/command)",
  };
}

/** The engine or an error that says what is missing and how to get it. */
export function requireEngine(env: NodeJS.ProcessEnv = process.env): Exclude<Engine, { kind: "none" }> {
  const e = findEngine(env);
  if (e.kind === "none") throw new Error(`no usable Pulumi engine: ${e.reason}`);
  return e;
}

/** Environment for the CLI: the engine's PULUMI_HOME, a local file backend, no downloads or update checks. */
export function engineEnv(engine: Exclude<Engine, { kind: "none" }>, backendDir: string, passphrase = ""): Record<string, string> {
  fs.mkdirSync(backendDir, { recursive: true });
  return {
    PULUMI_BACKEND_URL: `file://${backendDir}`,
    PULUMI_CONFIG_PASSPHRASE: passphrase,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    ...(engine.pulumiHome ? { PULUMI_HOME: engine.pulumiHome } : {}),
  };
}

export interface EngineStackArgs {
  readonly stackName: string;
  readonly program: PulumiFn;
  /** Holds Pulumi.yaml and Pulumi.<stack>.yaml when the stack reads a stack file. */
  readonly workDir?: string;
  /** Project name when there is no workDir (a throw-away inline project). */
  readonly projectName?: string;
  /** The file backend's directory. */
  readonly backendDir: string;
  readonly passphrase?: string;
  /** Config set on the stack (plain values; `secret: true` encrypts). */
  readonly config?: Record<string, { value: string; secret?: boolean }>;
  readonly engine?: Exclude<Engine, { kind: "none" }>;
}

/**
 * An Automation API stack running an inline program. With a workDir the CLI reads its Pulumi.yaml
 * and stack file; `LocalWorkspace.createOrSelectStack({ workDir, program })` would treat the
 * program as a local one and look for a language host, so the workspace is created first
 * (ENGINE.md, "This project's stacks under that engine").
 */
export async function engineStack(a: EngineStackArgs): Promise<Stack> {
  const engine = a.engine ?? requireEngine();
  const pulumiCommand = await PulumiCommand.get({ root: engine.cliRoot, version: undefined, skipVersionCheck: true });
  const envVars = engineEnv(engine, a.backendDir, a.passphrase ?? "");
  const ws = await LocalWorkspace.create({
    program: a.program,
    pulumiCommand,
    envVars,
    ...(a.workDir
      ? { workDir: a.workDir }
      : { projectSettings: { name: a.projectName ?? "engine-test", runtime: "nodejs", backend: { url: envVars.PULUMI_BACKEND_URL } } }),
  });
  const stack = await Stack.createOrSelect(a.stackName, ws);
  if (a.config) await stack.setAllConfig(Object.fromEntries(Object.entries(a.config).map(([k, v]) => [k, { value: v.value, secret: v.secret ?? false }])));
  return stack;
}


/** The project's own program (index.ts, compiled), run inline: what `pulumi up` would run. */
export const projectProgram: PulumiFn = async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = require(path.join(REPO_ROOT, "dist", "index.js")) as () => Promise<Record<string, unknown>>;
  return program();
};

/** The file backend of the checkout's lab stacks (gitignored). */
export const LAB_BACKEND = path.join(REPO_ROOT, ".lab", "pulumi");

/**
 * A stack of this project, from its stack file in the repository root (Pulumi.<stack>.yaml), on
 * the lab backend: `npm run lab` and the lab tests. The committed lab stack file carries the
 * encryptionsalt of the empty passphrase, so the CLI never rewrites it.
 */
export function projectStack(stackName: string, o: { engine?: Exclude<Engine, { kind: "none" }>; passphrase?: string } = {}): Promise<Stack> {
  return engineStack({ stackName, workDir: REPO_ROOT, backendDir: LAB_BACKEND, program: projectProgram, ...o });
}
