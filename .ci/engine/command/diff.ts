// Diff (R9-R12), as pulumi-go-provider's inferred resources compute it (GP infer/resource.go diff,
// GP provider.go DiffResponse.rpc) on top of the SDK's property diff (pulumi
// sdk/go/common/resource/properties_diff.go diff/DeepEquals, plugin/provider.go
// NewDetailedDiffFromObjectDiff). Works on the wire values so secretness and unknowns count as they do there.
import { INPUTS } from "./schema";
import { isSecret, isUnknown, Raw, RawMap, UNKNOWN } from "./values";

export type Kind = "add" | "delete" | "update";
export interface DiffOutcome {
  changes: boolean;
  /** Path -> kind, nested paths such as `triggers[1]`, `environment.FOO`, `connection.host`. */
  detailed: Record<string, { kind: Kind; replace: boolean }>;
  diffs: string[];
  replaces: string[];
}

const isIdent = (k: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k);
const join = (base: string, key: string | number) =>
  typeof key === "number" ? `${base}[${key}]` : isIdent(key) ? (base ? `${base}.${key}` : key) : `${base}[${JSON.stringify(key)}]`;
const firstSegment = (p: string) => p.match(/^[^.[]+/)?.[0] ?? p;
const absent = (v: Raw) => v === undefined || v === null;

function containsUnknown(v: Raw): boolean {
  if (v === UNKNOWN) return true;
  if (isSecret(v)) return containsUnknown(v.value);
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
  return false;
}

function deepEqual(a: Raw, b: Raw): boolean {
  if (isSecret(a) !== isSecret(b)) return false; // plain -> secret with the same text is a change (R12)
  if (isSecret(a) && isSecret(b)) return deepEqual(a.value, b.value);
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => deepEqual((a as RawMap)[k] ?? null, (b as RawMap)[k] ?? null));
  }
  return (a ?? null) === (b ?? null);
}

function walk(path: string, olds: Raw, news: Raw, out: Record<string, Kind>): void {
  // An unknown that is also secret becomes an unknown Output and compares unchanged (R12 quirk).
  if (isSecret(news) && containsUnknown(news.value)) return;
  if (isUnknown(news)) {
    out[path] = "update";
    return;
  }
  if (deepEqual(olds, news)) return;
  if (absent(olds)) return void (out[path] = "add");
  if (absent(news)) return void (out[path] = "delete");
  const o = isSecret(olds) && isSecret(news) ? olds.value : olds;
  const n = isSecret(olds) && isSecret(news) ? news.value : news;
  if (Array.isArray(o) && Array.isArray(n)) {
    for (let i = 0; i < Math.max(o.length, n.length); i++) {
      if (i >= n.length) out[join(path, i)] = "delete";
      else if (i >= o.length) out[join(path, i)] = "add";
      else walk(join(path, i), o[i], n[i], out);
    }
    return;
  }
  if (typeof o === "object" && o !== null && !Array.isArray(o) && typeof n === "object" && n !== null && !Array.isArray(n) && isSecret(o) === isSecret(n)) {
    for (const k of new Set([...Object.keys(o), ...Object.keys(n)])) walk(join(path, k), (o as RawMap)[k], (n as RawMap)[k], out);
    return;
  }
  out[path] = "update";
}

/** Sets `path` (a.b, a[0]) of `target` to its value in `source` (ignoreChanges, GP infer/resource.go diff L1160-1175). */
function copyPath(target: RawMap, source: RawMap, path: string): void {
  const segs = [...path.matchAll(/([^.[\]]+)|\[(\d+|"[^"]*")\]/g)].map((m) => (m[2] !== undefined ? (m[2].startsWith('"') ? JSON.parse(m[2]) : Number(m[2])) : m[1]));
  let t: any = target;
  let s: any = source;
  for (let i = 0; i < segs.length - 1; i++) {
    const k = segs[i]!;
    if (s === undefined || s === null) return;
    s = isSecret(s[k]) ? s[k].value : s[k];
    if (t[k] === undefined || t[k] === null) return;
    if (isSecret(t[k])) t[k] = { ...t[k], value: structuredClone(t[k].value) };
    else t[k] = structuredClone(t[k]);
    t = isSecret(t[k]) ? t[k].value : t[k];
  }
  const last = segs[segs.length - 1]!;
  if (s === undefined || s === null || s[last] === undefined) delete t[last];
  else t[last] = s[last];
}

export function diff(kind: "local" | "remote", oldState: RawMap, oldInputs: RawMap | undefined, newInputs: RawMap, ignoreChanges: readonly string[] = []): DiffOutcome {
  const news: RawMap = { ...newInputs };
  for (const p of ignoreChanges) copyPath(news, oldState, p);
  for (const k of Object.keys(news)) if (k === "version" || k.startsWith("__")) delete news[k];
  // No old inputs from the engine: the input-named keys of the old state stand in (GP infer/resource.go diff).
  const olds: RawMap = oldInputs && Object.keys(oldInputs).length ? oldInputs : Object.fromEntries(INPUTS[kind].filter((k) => k in oldState).map((k) => [k, oldState[k]]));
  const paths: Record<string, Kind> = {};
  for (const k of new Set([...Object.keys(olds), ...Object.keys(news)])) walk(k, olds[k], news[k], paths);
  // Update is implemented, so only an exact `replaceOnChanges` key replaces: `triggers` as a whole
  // (P/common/inputs.go ResourceInputs; GP infer/resource.go diff L1228-1231). Elements come back as
  // plain changes; the SDK's replaceOnChanges `triggers[*]` makes the engine replace (R10).
  const detailed = Object.fromEntries(Object.entries(paths).map(([p, k]) => [p, { kind: k, replace: p === "triggers" }]));
  const diffs = [...new Set(Object.keys(paths).map(firstSegment))];
  const replaces = [...new Set(Object.keys(paths).filter((p) => p === "triggers").map(firstSegment))];
  return { changes: diffs.length > 0, detailed, diffs, replaces };
}
