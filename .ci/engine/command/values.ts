// Property values as the provider protocol carries them through google.protobuf.Struct
// (@pulumi/pulumi sdk/nodejs/runtime/rpc.ts specialSigKey/specialSecretSig, unknownValue): a secret
// is an object { <sig>: <secret sig>, value }, an unknown is a fixed UUID string. The engine sends
// them still wrapped because Configure of provider.main answers acceptSecrets=true.
export const SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type Raw = unknown;
export type RawMap = Record<string, Raw>;

export const isSecret = (v: Raw): v is { value: Raw } =>
  typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG] === SECRET_SIG;

export const secret = (v: Raw): Raw => (isSecret(v) ? v : { [SIG]: SECRET_SIG, value: v });

export const isUnknown = (v: Raw): boolean => v === UNKNOWN || (isSecret(v) && v.value === UNKNOWN);

/** The plain value, secrets unwrapped at every depth. */
export function plain(v: Raw): any {
  if (isSecret(v)) return plain(v.value);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** Every non-empty string inside a secret, at any depth (what an error text or log line must not show). */
export function secretStrings(v: Raw, inSecret = false, out: string[] = []): string[] {
  if (isSecret(v)) return secretStrings(v.value, true, out);
  if (typeof v === "string") {
    if (inSecret && v !== "") out.push(v);
  } else if (Array.isArray(v)) v.forEach((x) => secretStrings(x, inSecret, out));
  else if (typeof v === "object" && v !== null) Object.values(v).forEach((x) => secretStrings(x, inSecret, out));
  return out;
}

/** Replaces each secret (and each of its lines of 4+ characters, e.g. a key printed line by line) with [secret]. */
export function redact(text: string, secrets: readonly string[]): string {
  const needles = new Set<string>();
  for (const s of secrets) {
    needles.add(s);
    for (const line of s.split("\n")) if (line.trim().length >= 4) needles.add(line.trim());
  }
  let out = text;
  for (const n of [...needles].sort((a, b) => b.length - a.length)) out = out.split(n).join("[secret]");
  return out;
}
