// Shared by the tests: evaluate a stack file of the repository under mocks, as the render does.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after } from "node:test";
import { projectRoot } from "../components/host/assets";
import { evaluateProgram, Evaluation, EvaluatedResource } from "../components/offline/evaluate";
import { readStackFile } from "../components/offline/stack-file";
import { rawConfig, validateConfig } from "../components/config/load";
import type { StackConfig } from "../components/config/schema";

export const ROOT = projectRoot();

export async function evaluateStack(
  stackFile: string,
  o: { overrides?: Record<string, unknown>; preview?: boolean; computed?: (type: string, name: string) => Record<string, unknown>; stack?: string } = {},
): Promise<Evaluation> {
  const file = readStackFile(ROOT, stackFile, o.overrides);
  return evaluateProgram({ ...file, stack: o.stack ?? file.stack, projectDir: ROOT, preview: o.preview ?? true, ...(o.computed ? { computed: o.computed } : {}) });
}

export const byName = (e: Evaluation, name: string): EvaluatedResource => {
  const r = e.resources.find((x) => x.name === name);
  if (!r) throw new Error(`no resource named ${name}; have ${e.resources.map((x) => x.name).join(", ")}`);
  return r;
};

/** A GitLab node's gitlab.rb: the content its config step writes to the volume. */
export const gitlabRbOf = (e: Evaluation, node: string): string => String(byName(e, `gitlab-${node}-config`).values.stdin);

export const commandsOf = (e: Evaluation) => e.resources.filter((r) => r.type === "command:remote:Command");

/** Runs shellcheck on a script; returns its findings (empty when clean). */
export function shellcheck(script: string): string {
  try {
    execFileSync("shellcheck", ["-s", "bash", "-"], { input: script, stdio: ["pipe", "pipe", "pipe"] });
    return "";
  } catch (e) {
    return String((e as { stdout?: Buffer }).stdout ?? e);
  }
}

/**
 * Evaluates a gitlab.rb with Ruby, the way Omnibus reads it (settings hashes, external_url),
 * with File.read answering from a stand-in; prints the settings as JSON.
 */
export function rubySettings(config: string, files: Record<string, string> = {}): Record<string, unknown> {
  const program = `
    require "json"
    FILES = JSON.parse(${JSON.stringify(JSON.stringify(files))})
    class File; def self.read(p) = FILES.fetch(p) { raise "unexpected read of #{p}" }; end
    S = Hash.new { |h, k| h[k] = {} }
    def external_url(u) = (S["external_url"] = u)
    def postgresql = S["postgresql"]
    def gitlab_rails = S["gitlab_rails"]
    def letsencrypt = S["letsencrypt"]
    def nginx = S["nginx"]
    def puma = S["puma"]
    def sidekiq = S["sidekiq"]
    eval(STDIN.read)
    puts JSON.generate(S)`;
  return JSON.parse(execFileSync("ruby", ["-e", program], { input: config, encoding: "utf8" })) as Record<string, unknown>;
}


/**
 * A stack file's validated config as the program sees it under the stack name `stack` (lab
 * stacks derive their network, addresses and ports from it: components/lab/slots.ts).
 */
export function stackConfigOf(stackFile: string, stack = stackFile, overrides?: Record<string, unknown>): StackConfig {
  const f = readStackFile(ROOT, stackFile, overrides);
  return validateConfig(rawConfig(f.config, (k) => f.secretKeys.includes(k)), { project: f.project, stack }).config;
}

/** A lab host's derived address in a stack made from Pulumi.lab.yaml. */
export const labAddress = (host: string, stack = "lab"): string => stackConfigOf("lab", stack).hosts.find((h) => h.name === host)!.address;

/** Fresh directories under one temp root that is removed after the test file. */
export function tempDirs(prefix: string): { root: string; next: () => string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return {
    root,
    next: () => {
      const d = path.join(root, `d${n++}`);
      fs.mkdirSync(d);
      return d;
    },
  };
}

/** Python run in a network namespace: one process listening on every port given (argv[2:]) at argv[1], greeting and closing each connection. */
export const NETNS_LISTENER = `
import selectors, socket, sys
sel = selectors.DefaultSelector()
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
for port in sys.argv[2:]:
    s = socket.socket(fam)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(port)))
    s.listen()
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        c, _ = key.fileobj.accept()
        c.sendall(b"hello\\n")
        c.close()
`;

/** Connects to argv[1]:argv[2] from source address argv[3] (when given): prints the greeting, "refused" or "timeout". */
export const NETNS_PROBE = `
import socket, sys
try:
    src = (sys.argv[3], 0) if len(sys.argv) > 3 and sys.argv[3] else None
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3, source_address=src) as s:
        print(s.recv(16).decode().strip())
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
`;

/**
 * The `skip` option of a suite that needs a tool the setup (.ci/setup) must provide. Outside CI a
 * missing tool skips the suite with `why`; in CI (CI=true) it never skips: a test named after the
 * tool fails instead, so a CI run without the tool cannot pass.
 */
export function requireTool(tool: string, available: boolean, why = `needs ${tool}`): string | false {
  if (available) return false;
  if (process.env.CI === "true") {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { it } = require("node:test") as typeof import("node:test");
    it(`the setup provides ${tool}`, () => {
      throw new Error(`${tool} is missing: .ci/setup must provide it (CI=true never skips: ${why})`);
    });
  }
  return why;
}

/**
 * Stand-ins of an EL host's service tools in `<dir>/bin`: a systemctl keeping each unit's state in
 * files (`<dir>/<unit>.enabled` holds enabled|disabled|masked, `<dir>/<unit>.active` exists while it
 * runs) and logging every call to `<dir>/calls`; rpm reporting every package installed; dnf that
 * fails if called. Returns the bin directory (put it first on PATH).
 */
export function elServiceStandIns(dir: string): string {
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(
    path.join(bin, "systemctl"),
    `#!/bin/bash
echo "systemctl $*" >>"${dir}/calls"
quiet=false; now=false; args=()
for a in "$@"; do case "$a" in --quiet) quiet=true ;; --now) now=true ;; *) args+=("$a") ;; esac; done
verb=\${args[0]}; unit=\${args[1]%.service}
state=$(cat "${dir}/$unit.enabled" 2>/dev/null || echo disabled)
case "$verb" in
  is-enabled) $quiet || echo "$state"; [ "$state" = enabled ] ;;
  is-active) [ -e "${dir}/$unit.active" ] ;;
  mask) echo masked >"${dir}/$unit.enabled"; ! $now || rm -f "${dir}/$unit.active" ;;
  enable) echo enabled >"${dir}/$unit.enabled" ;;
  stop) rm -f "${dir}/$unit.active" ;;
  restart) touch "${dir}/$unit.active" ;;
  *) echo "unexpected systemctl $*" >&2; exit 2 ;;
esac
`,
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(bin, "rpm"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "dnf"), '#!/bin/sh\necho "dnf $*" >&2; exit 1\n', { mode: 0o755 });
  return bin;
}
