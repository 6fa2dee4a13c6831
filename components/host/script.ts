// Assembles host scripts: typed, shell-quoted variables, the shared library, and a step body.
// Values are baked into the script text (no SSH environment: sshd's AcceptEnv would drop them);
// secrets never are: they travel on stdin.
import { readAsset } from "./assets";

export type ShellValue = string | number | boolean | readonly string[];

/** Quotes a value for POSIX shells: the result is one word, expanded by nothing. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function assignment(name: string, value: ShellValue): string {
  if (Array.isArray(value)) return `${name}=(${value.map(shellQuote).join(" ")})`;
  return `${name}=${value === "" ? "''" : shellQuote(String(value))}`;
}

const DELIMITER = "GITLAB_HA_SCRIPT";

export interface HostScript {
  /** One line saying what the step does, shown as the script's first comment. */
  readonly description: string;
  /** The host it runs on, named in the script's header (the render groups commands by it). */
  readonly host: string;
  readonly vars: Readonly<Record<string, ShellValue>>;
  /** Paths of step bodies, from the project root; concatenated in order. */
  readonly bodies: readonly string[];
}

interface LibraryPart {
  /** The function it defines; undefined for top-level statements, which every step carries. */
  readonly name?: string;
  readonly text: string;
}

/** Splits the library into top-level statements and function definitions (with their comments). */
function libraryParts(lib: string): LibraryPart[] {
  const parts: LibraryPart[] = [];
  let comments: string[] = [];
  const lines = lib.trimEnd().split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fn = /^([A-Za-z_][\w-]*)\(\) \{/.exec(line);
    if (!fn) {
      if (line.startsWith("#") || line.trim() === "") comments.push(line);
      else parts.push({ text: [...comments, line].join("\n") }), (comments = []);
      continue;
    }
    const body = [line];
    if (!/\}\s*$/.test(line)) while (i + 1 < lines.length && body[body.length - 1] !== "}") body.push(lines[++i]!);
    const lead = comments.filter((c) => c.trim() !== "");
    parts.push({ name: fn[1]!, text: [...(lead.length && parts.length ? [""] : []), ...lead, ...body].join("\n") });
    comments = [];
  }
  return parts;
}

/**
 * The part of the shared library a step needs: top-level statements and the functions its code
 * calls, directly or through other functions. A command's text, and so whether the engine re-runs
 * it, then changes only when a function it really uses changes.
 */
export function libraryFor(lib: string, code: readonly string[]): string {
  const parts = libraryParts(lib);
  const calls = (text: string, name: string) => new RegExp(`(^|[^\\w-])${name.replace(/[-]/g, "\\-")}($|[^\\w-])`, "m").test(text.replace(/^\s*#.*$/gm, ""));
  const used = new Set<string>();
  let pending = [...code];
  while (pending.length) {
    const text = pending.join("\n");
    pending = [];
    for (const p of parts) if (p.name && !used.has(p.name) && calls(text, p.name)) used.add(p.name), pending.push(p.text);
  }
  return parts.filter((p) => !p.name || used.has(p.name)).map((p) => p.text).join("\n");
}

/** The script text itself (what shellcheck checks and the render shows). */
export function renderScript(s: HostScript): string {
  const bodies = s.bodies.map((b) => readAsset(b).trimEnd());
  const code = [libraryFor(readAsset("components/host/scripts/lib.sh"), bodies), ...bodies];
  // Callers pass a host's common variables; only those the code reads are written.
  const used = (k: string) => code.some((c) => new RegExp(`\\$\\{?${k}\\b`).test(c));
  const vars = Object.entries(s.vars).filter(([k]) => used(k)).map(([k, v]) => assignment(k, v));
  const text = ["set -euo pipefail", `# gitlab-ha: ${s.description}`, `# host: ${s.host}`, ...vars, ...code].join("\n");
  if (text.split("\n").includes(DELIMITER)) throw new Error(`script contains its own delimiter ${DELIMITER}`);
  return text + "\n";
}

/**
 * The command line Pulumi runs over SSH: bash with the script as its argument (so stdin stays
 * free for secrets), under sudo when the SSH user is not root.
 */
export function commandLine(s: HostScript, sudo: boolean): string {
  return `${sudo ? "sudo -n " : ""}bash -c "$(cat <<'${DELIMITER}'\n${renderScript(s)}${DELIMITER}\n)"`;
}

/** Recovers the script from a command line made by commandLine (tests and the render use it). */
export function scriptOf(command: string): string | undefined {
  const m = /<<'GITLAB_HA_SCRIPT'\n([\s\S]*?)\nGITLAB_HA_SCRIPT\n\)"$/.exec(command);
  return m ? m[1] + "\n" : undefined;
}

/** The host named in a command line's script header. */
export function hostOf(command: string): string | undefined {
  return /^# host: (\S+)$/m.exec(command)?.[1];
}
