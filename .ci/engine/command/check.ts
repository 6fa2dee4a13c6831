// Check (R6-R8). Upstream has no custom Check: pulumi-go-provider's default decodes the inputs into
// the Go structs (GP infer/resource.go Check, decodeCheckingMapErrors), applies the annotated
// defaults (GP infer/apply_defaults.go apply) and marks `provider:"secret"` fields secret
// (GP infer/apply_secrets.go applySecrets). This mirrors that on the wire values.
import { CONNECTION_FIELDS, INPUTS, PROXY_FIELDS } from "./schema";
import { isSecret, isUnknown, Raw, RawMap, secret } from "./values";

export interface Failure {
  property: string;
  reason: string;
}
type Kind = "string" | "bool" | "float64" | "int" | "[]string" | "[]interface {}" | "map[string]string" | "object";

const FIELD_KINDS: Record<string, Kind> = {
  triggers: "[]interface {}",
  create: "string",
  update: "string",
  delete: "string",
  stdin: "string",
  logging: "string", // enum values are not checked (R6): "bogus" passes and logs nothing (R21)
  environment: "map[string]string",
  addPreviousOutputInEnv: "bool",
  dir: "string",
  interpreter: "[]string",
  assetPaths: "[]string",
  archivePaths: "[]string",
  connection: "object",
  proxy: "object",
  host: "string",
  port: "float64",
  user: "string",
  password: "string",
  privateKey: "string",
  privateKeyPassword: "string",
  agentSocketPath: "string",
  dialErrorLimit: "int",
  perDialTimeout: "int",
  hostKey: "string",
};

// The name Go's reflect prints for the value's type, as the mapper's "got '<U>'" does
// (pulumi sdk/go/common/util/mapper/errors.go NewWrongTypeError).
const goTypeOf = (v: Raw): string =>
  typeof v === "string" ? "string" : typeof v === "number" ? "float64" : typeof v === "boolean" ? "bool" : Array.isArray(v) ? "[]interface {}" : "map[string]interface {}";

function fits(kind: Kind, v: Raw): boolean {
  if (isUnknown(v)) return true;
  const x = isSecret(v) ? v.value : v;
  if (isUnknown(x)) return true;
  switch (kind) {
    case "string":
      return typeof x === "string";
    case "bool":
      return typeof x === "boolean";
    case "float64":
      return typeof x === "number";
    case "int":
      return typeof x === "number" && Number.isInteger(x);
    case "[]interface {}":
      return Array.isArray(x);
    case "[]string":
      return Array.isArray(x) && x.every((e) => isUnknown(e) || typeof (isSecret(e) ? e.value : e) === "string");
    case "map[string]string":
      return typeof x === "object" && x !== null && !Array.isArray(x) && Object.values(x).every((e) => isUnknown(e) || typeof (isSecret(e) ? e.value : e) === "string");
    case "object":
      return typeof x === "object" && x !== null && !Array.isArray(x);
  }
}

function validate(obj: RawMap, allowed: readonly string[], type: string, required: readonly string[], failures: Failure[]): void {
  for (const [k, v] of Object.entries(obj)) {
    if (!allowed.includes(k)) {
      failures.push({ property: k, reason: `Unrecognized field '${k}' on '${type}'` });
      continue;
    }
    if (v === null || v === undefined) continue;
    const kind = FIELD_KINDS[k]!;
    if (!fits(kind, v)) failures.push({ property: k, reason: `Field '${k}' on '${type}' must be a '${kind}'; got '${goTypeOf(isSecret(v) ? v.value : v)}' instead` });
  }
  for (const k of required) if (obj[k] === undefined || obj[k] === null) failures.push({ property: k, reason: `Missing required field '${k}' on '${type}'` });
}

// GP infer/apply_defaults.go apply: a default fills a nil field only; an explicit 0 or -1 stays.
const CONNECTION_DEFAULTS: RawMap = { user: "root", port: 22, dialErrorLimit: 10, perDialTimeout: 15 };
const SECRET_FIELDS = ["password", "privateKey", "privateKeyPassword"]; // P/remote/connection.go connectionBase provider:"secret"

function connection(v: RawMap, withDefaults: boolean, proxy: boolean): RawMap {
  const out: RawMap = { ...v };
  if (withDefaults) for (const [k, d] of Object.entries(CONNECTION_DEFAULTS)) if (out[k] === undefined || out[k] === null) out[k] = d;
  for (const k of SECRET_FIELDS) if (out[k] !== undefined && out[k] !== null) out[k] = secret(out[k]);
  // Optional nil structs are skipped (GP apply_defaults.go L128-130): the proxy gets defaults only when present.
  if (!proxy && typeof out.proxy === "object" && out.proxy !== null && !isUnknown(out.proxy)) {
    const p = isSecret(out.proxy) ? (out.proxy.value as RawMap) : (out.proxy as RawMap);
    const done = connection(p, withDefaults, true);
    out.proxy = isSecret(out.proxy) ? secret(done) : done;
  }
  return out;
}

export function check(kind: "local" | "remote", news: RawMap): { inputs: RawMap; failures: Failure[] } {
  const type = `${kind}.CommandInputs`;
  const failures: Failure[] = [];
  validate(news, INPUTS[kind], type, kind === "remote" ? ["connection"] : [], failures);
  const conn = news.connection;
  const connObj = isSecret(conn) ? conn.value : conn;
  if (kind === "remote" && typeof connObj === "object" && connObj !== null && !Array.isArray(connObj)) {
    validate(connObj as RawMap, CONNECTION_FIELDS, "remote.Connection", ["host"], failures);
    const proxy = (connObj as RawMap).proxy;
    const proxyObj = isSecret(proxy) ? proxy.value : proxy;
    if (typeof proxyObj === "object" && proxyObj !== null && !Array.isArray(proxyObj)) validate(proxyObj as RawMap, PROXY_FIELDS, "remote.ProxyConnection", ["host"], failures);
  }
  const inputs: RawMap = { ...news };
  if (kind === "remote" && typeof connObj === "object" && connObj !== null && !Array.isArray(connObj)) {
    // Defaults only when decoding succeeded (GP infer/resource.go DefaultCheck); `connection` is secret as a whole (R8).
    inputs.connection = secret(connection(connObj as RawMap, failures.length === 0, false));
  } else if (kind === "remote" && conn !== undefined && conn !== null) {
    inputs.connection = secret(conn);
  }
  return { inputs, failures };
}
