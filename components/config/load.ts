// Turns the raw `gitlab-ha:*` config of a stack into a validated, typed model. All problems are
// collected first and thrown as one ConfigError, so nothing is created from a half-valid config.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ConfigIssue, crossKeyIssues, runnerTokenIssues } from "./rules";
import { deriveLabValues, StackIdentity } from "../lab/slots";
import { CONTROL_CHARS, NO_CONTROL_CHARS, SECRET_KEYS, SecretKey, StackConfig, stackSchema } from "./schema";

export const NAMESPACE = "gitlab-ha";

/**
 * Stands for a `secure:` value that cannot be decrypted (the offline render has no secrets
 * provider). The loader turns it into an unknown secret, as `pulumi preview` would show it.
 */
export const UNKNOWN_SECRET = "\u0000gitlab-ha:unknown-secret";

// A RunError: the Pulumi CLI prints its message without the program's stack
// (@pulumi/pulumi cmd/run/run.ts: "Always hide the stack for RunErrors").
export class ConfigError extends pulumi.RunError {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(
      `Invalid stack configuration (${issues.length} problem${issues.length === 1 ? "" : "s"}); nothing was changed:\n` +
        issues.map((i) => `  - ${i.path}: ${i.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

export interface RawStackConfig {
  /** Values by key without namespace; objects already parsed from JSON. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Keys whose value was a `secure:` (encrypted) value. */
  readonly secretKeys: ReadonlySet<string>;
  /** Full keys in a namespace neither the program nor its providers read (a typo like `gitlab_ha:`). */
  readonly foreignKeys?: readonly string[];
}

/**
 * Namespaces besides the program's own that a stack may set: the providers the program creates
 * resources with (their default-provider settings) and the engine's own `pulumi:` keys. Any other
 * namespace is read by nobody, so a key in it would vanish from the plan without a word.
 */
export const PROVIDER_NAMESPACES = ["docker", "command", "random", "pulumi"] as const;

export type StackSecrets = Partial<Record<SecretKey, pulumi.Output<string>>>;

export interface LoadedConfig {
  readonly config: StackConfig;
  readonly secrets: StackSecrets;
}

/**
 * Validates raw config. Throws ConfigError listing every problem. `stack` names the stack: a lab
 * stack derives its network, addresses and ports from it (components/lab/slots.ts).
 */
export function validateConfig(raw: RawStackConfig, stack?: StackIdentity): LoadedConfig {
  const issues: ConfigIssue[] = [];
  let plain: Record<string, unknown> = {};
  const secretsPresent = new Set<string>();
  const schemaKeys = Object.keys(stackSchema.shape);

  for (const [key, value] of Object.entries(raw.values)) {
    if (isUnsetDefault(key, value)) continue;
    const isSecretKey = key in SECRET_KEYS;
    if (isSecretKey) {
      if (!raw.secretKeys.has(key)) issues.push({ path: key, message: `must be a secret: pulumi config set --secret ${key}` });
      else if (typeof value !== "string" || value.length === 0) issues.push({ path: key, message: "expected a non-empty string" });
      else secretsPresent.add(key);
    } else if (schemaKeys.includes(key)) {
      if (raw.secretKeys.has(key)) {
        issues.push({ path: key, message: `holds a secure value; only ${Object.keys(SECRET_KEYS).join(", ")} may be secret` });
      }
      plain[key] = value;
    } else {
      issues.push({ path: key, message: `unknown config key; known keys: ${[...schemaKeys, ...Object.keys(SECRET_KEYS)].join(", ")}` });
    }
  }

  for (const fullKey of raw.foreignKeys ?? []) {
    const [ns, key] = splitKey(fullKey);
    const hint = key in SECRET_KEYS || schemaKeys.includes(key) ? ` (did you mean ${NAMESPACE}:${key}?)` : "";
    issues.push({ path: fullKey, message: `unknown config namespace '${ns}'${hint}: the program reads ${NAMESPACE}:<key>, and ${PROVIDER_NAMESPACES.map((n) => `${n}:`).join(", ")} for its providers and the engine` });
  }
  issues.push(...controlCharIssues(plain));
  issues.push(...tokenIssues(plain));
  // Before the schema and the cross-key rules: they check the derived values like written ones.
  const derivation: ConfigIssue[] = [];
  plain = deriveLabValues(plain, stack, (i) => derivation.push(i));
  issues.push(...derivation);
  // Without the stack's name nothing of a lab stack can be checked: say that alone.
  if (derivation.some((i) => i.path === "lab")) throw new ConfigError(dedupe(issues));
  const parsed = stackSchema.safeParse(plain);
  if (!parsed.success) issues.push(...parsed.error.issues.flatMap(zodIssue));
  issues.push(...crossKeyIssues(plain, secretsPresent));
  const tokens = secretsPresent.has("runnerTokens") ? (raw.values.runnerTokens as string) : undefined;
  if (tokens !== UNKNOWN_SECRET) issues.push(...runnerTokenIssues(plain, tokens));
  if (issues.length > 0 || !parsed.success) throw new ConfigError(dedupe(issues));

  const secrets: StackSecrets = {};
  for (const key of secretsPresent) {
    const value = raw.values[key] as string;
    secrets[key as SecretKey] = value === UNKNOWN_SECRET ? pulumi.secret(pulumi.unknown as unknown as string) : pulumi.secret(value);
  }
  return { config: parsed.data, secrets };
}

/** The running stack's name (under the CLI or mocks); undefined outside the Pulumi runtime. */
function runtimeStack(): StackIdentity | undefined {
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  return project && stack ? { project, stack } : undefined;
}

/**
 * Pulumi.yaml must give optional keys a default, or the CLI demands them from every stack: the
 * defaults there are "" (secrets) and {} (lab, drbd) and mean "not set". Real defaults live in schema.ts.
 */
function isUnsetDefault(key: string, value: unknown): boolean {
  if (key in SECRET_KEYS) return value === "";
  return (key === "lab" || key === "drbd") && !!value && typeof value === "object" && Object.keys(value).length === 0;
}

/** The config map as the CLI hands it to the program (full keys, objects as JSON text). */
export function rawConfig(all: Readonly<Record<string, string>>, isSecret: (fullKey: string) => boolean): RawStackConfig {
  const values: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  const foreignKeys: string[] = [];
  for (const [fullKey, text] of Object.entries(all)) {
    const [ns, key] = splitKey(fullKey);
    if (ns !== NAMESPACE) {
      if (!(PROVIDER_NAMESPACES as readonly string[]).includes(ns)) foreignKeys.push(fullKey);
      continue;
    }
    if (isSecret(fullKey)) secretKeys.add(key);
    values[key] = key in SECRET_KEYS ? text : parseJsonish(text);
  }
  return { values, secretKeys, foreignKeys };
}

/** Reads the running stack's config from the Pulumi runtime (CLI, mocks or the offline render). */
export function readRuntimeConfig(): RawStackConfig {
  // isConfigSecret is exported by the runtime but marked internal; a unit test pins its presence.
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret(k: string): boolean }).isConfigSecret;
  return rawConfig(pulumi.runtime.allConfig(), isSecret);
}

/** The stack's validated config: what index.ts composes from. */
export function loadStackConfig(): LoadedConfig {
  return validateConfig(readRuntimeConfig(), runtimeStack());
}

/**
 * Every string (and key) of the raw config holding a control character, with its key path: the
 * catch-all behind the schema's own refinement, so that no key can carry a line break into a file.
 */
function controlCharIssues(value: unknown, at: PropertyKey[] = []): ConfigIssue[] {
  if (typeof value === "string") return value !== UNKNOWN_SECRET && CONTROL_CHARS.test(value) ? [{ path: formatPath(at) || "(stack config)", message: NO_CONTROL_CHARS }] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => controlCharIssues(v, [...at, i]));
  if (!value || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(CONTROL_CHARS.test(k) ? [{ path: formatPath([...at, JSON.stringify(k)]), message: `key ${NO_CONTROL_CHARS}` }] : []),
    ...controlCharIssues(v, [...at, k]),
  ]);
}

/**
 * Secret-shaped values in plain keys: they would sit unencrypted in the stack file, the state and
 * the renders. Prefixes from GitLab's doc/security/tokens/_index.md ("Token prefixes"): glrt-
 * runner authentication token, glrtr- the same created by registration, GR1348941 runner
 * registration token; the other gl*- tokens are taken by no key of this program.
 */
const TOKEN_SHAPES: readonly [RegExp, string][] = [
  [/\b(glrtr?-|GR1348941)[A-Za-z0-9_.-]{8,}/, "looks like a GitLab runner token: keep it only in the secret runnerTokens (pulumi config set --secret runnerTokens '{\"<runner>\": {\"token\": \"glrt-...\"}}')"],
  [/\bgl(pat|dt|cbt|ptt|ft|imt|agent|oas|soat|ffct|wt)-[A-Za-z0-9_.-]{8,}/, "looks like a GitLab access token: no key of this program takes one; keep it out of the stack configuration"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "holds a private key: keep it only in the secret sshPrivateKey (pulumi config set --secret sshPrivateKey < key) or name a file in ssh.privateKeyFile"],
];

function tokenIssues(value: unknown, at: PropertyKey[] = []): ConfigIssue[] {
  if (typeof value === "string") {
    const hit = TOKEN_SHAPES.find(([re]) => re.test(value));
    return hit ? [{ path: formatPath(at) || "(stack config)", message: hit[1] }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => tokenIssues(v, [...at, i]));
  if (!value || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => tokenIssues(v, [...at, k]));
}

/** Reads a private key from a file named in config (`key` is its key path), relative to the project directory. */
export function readSecretFile(file: string, key: string): pulumi.Output<string> {
  const full = path.resolve(file);
  if (!fs.existsSync(full)) {
    // A preview (or the offline render) on a machine without the key still shows the plan.
    if (pulumi.runtime.isDryRun()) return pulumi.secret(pulumi.unknown as unknown as string);
    throw new ConfigError([{ path: key, message: `file ${file} does not exist` }]);
  }
  let content: string;
  try {
    content = fs.readFileSync(full, "utf8");
  } catch (e) {
    throw new ConfigError([{ path: key, message: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }]);
  }
  if (!isPrivateKey(content)) {
    throw new ConfigError([{ path: key, message: `${file} is not a private key: expected the '-----BEGIN ... PRIVATE KEY-----' armour of a PEM or OpenSSH key` }]);
  }
  return pulumi.secret(content);
}

/** PEM (PKCS#1/#8, EC, DSA) or OpenSSH private key armour, the formats ssh and ssh2 read. */
export function isPrivateKey(content: string): boolean {
  const m = /^-----BEGIN ((?:OPENSSH |RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----\r?\n[\s\S]+\n-----END \1-----\s*$/.exec(content.trimStart());
  return m !== null;
}

function splitKey(fullKey: string): [string, string] {
  const i = fullKey.indexOf(":");
  return i < 0 ? ["", fullKey] : [fullKey.slice(0, i), fullKey.slice(i + 1).replace(/^config:/, "")];
}

/** Pulumi passes object values as JSON text and scalars as plain text. */
function parseJsonish(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function formatPath(segments: readonly PropertyKey[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else out += out ? `.${String(s)}` : String(s);
  }
  return out;
}

function zodIssue(issue: z.core.$ZodIssue): ConfigIssue[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((k) => ({ path: formatPath([...issue.path, k]), message: "unknown key" }));
  }
  if (issue.code === "invalid_union") {
    return [{ path: formatPath(issue.path), message: "expected a string, number or boolean" }];
  }
  const message = issue.message.replace(/^Invalid input: /, "");
  return [{ path: formatPath(issue.path) || "(stack config)", message }];
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\0${i.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}
