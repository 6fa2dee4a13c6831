// Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the CLI hands config to the program:
// project defaults fill keys the stack leaves out, objects travel as JSON text, and `secure:`
// values (which only the stack's secrets provider can decrypt) become unknown secrets.
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { ConfigError, UNKNOWN_SECRET } from "../config/load";

export interface StackFile {
  readonly project: string;
  readonly stack: string;
  /** By full key, e.g. `gitlab-ha:hosts`. */
  readonly config: Record<string, string>;
  readonly secretKeys: string[];
}

/** A stack or project file that cannot be read as YAML: a config error naming the file and line. */
export class StackFileError extends ConfigError {
  constructor(file: string, problem: string, line?: { line: number; col: number }) {
    const where = line ? `${file}:${line.line}:${line.col}` : file;
    super([{ path: where, message: problem }]);
    this.message = `${problem.includes(file) ? problem : `${where}: ${problem}`}; nothing was changed`;
    this.name = "StackFileError";
  }
}

/** Parses a YAML mapping; a syntax error becomes a StackFileError with the file and line. */
function parseYamlFile(file: string): Record<string, unknown> {
  const shown = path.relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new StackFileError(shown, `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    // yaml's YAMLParseError: the first line of its message names the problem and position; the
    // rest quotes the file, which is left out (it may hold values that are not meant for logs).
    if (e instanceof YAML.YAMLError) throw new StackFileError(shown, `invalid YAML: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`, e.linePos?.[0]);
    throw e;
  }
  const mapping = (v: unknown) => v === null || v === undefined || (typeof v === "object" && !Array.isArray(v));
  if (!mapping(doc)) throw new StackFileError(shown, "expected a YAML mapping at the top level");
  const config = (doc as { config?: unknown } | null)?.config;
  if (!mapping(config)) throw new StackFileError(shown, "expected `config:` to be a mapping of keys to values");
  return (doc ?? {}) as Record<string, unknown>;
}

const containsSecure = (v: unknown): boolean =>
  !!v && typeof v === "object" && (("secure" in (v as object) && Object.keys(v as object).length === 1) || Object.values(v as object).some(containsSecure));

const replaceSecure = (v: unknown): unknown => {
  if (!v || typeof v !== "object") return v;
  if ("secure" in (v as object) && Object.keys(v as object).length === 1) return UNKNOWN_SECRET;
  if (Array.isArray(v)) return v.map(replaceSecure);
  return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, replaceSecure(x)]));
};

export function readStackFile(projectDir: string, stack: string, overrides: Record<string, unknown> = {}): StackFile {
  const projectFile = path.join(projectDir, "Pulumi.yaml");
  const stackFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(stackFile)) throw new StackFileError(path.relative(process.cwd(), stackFile) || stackFile, `no stack file ${path.relative(process.cwd(), stackFile) || stackFile}`);
  const project = parseYamlFile(projectFile) as { name: string; config?: Record<string, { default?: unknown }> };
  const stackDoc = parseYamlFile(stackFile) as { config?: Record<string, unknown> };

  const values: Record<string, unknown> = {};
  for (const [key, decl] of Object.entries(project.config ?? {})) {
    if (decl && typeof decl === "object" && "default" in decl) values[`${project.name}:${key}`] = decl.default;
  }
  for (const [key, value] of Object.entries(stackDoc.config ?? {})) {
    values[key.includes(":") ? key : `${project.name}:${key}`] = value;
  }
  for (const [key, value] of Object.entries(overrides)) values[`${project.name}:${key}`] = value;

  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (containsSecure(value)) secretKeys.push(key);
    const v = replaceSecure(value);
    config[key] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return { project: project.name, stack, config, secretKeys };
}
