// Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the CLI hands config to the program:
// project defaults fill keys the stack leaves out, objects travel as JSON text, and `secure:`
// values (which only the stack's secrets provider can decrypt) become unknown secrets.
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { UNKNOWN_SECRET } from "../config/load";

export interface StackFile {
  readonly project: string;
  readonly stack: string;
  /** By full key, e.g. `gitlab-ha:hosts`. */
  readonly config: Record<string, string>;
  readonly secretKeys: string[];
}

export class StackFileError extends Error {}

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
  if (!fs.existsSync(stackFile)) throw new StackFileError(`no stack file ${path.relative(process.cwd(), stackFile) || stackFile}`);
  const project = YAML.parse(fs.readFileSync(projectFile, "utf8")) as { name: string; config?: Record<string, { default?: unknown }> };
  const stackDoc = (YAML.parse(fs.readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };

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
