// GitLab's upgrade rules as data. Sources (see ../shared/REFERENCE.md):
// - required stops: gitlabhq config/upgrade_path.yml, the file GitLab's packaging uses to refuse
//   skipped stops (as of 18.11; 17.1 is conditional there and kept here: stopping is always safe);
// - latest patches of stops: gitlabhq doc/update/upgrade_paths.md (older: doc/update/index.md);
// - minimum PostgreSQL per major: gitlabhq doc/install/requirements.md across versions;
// - extensions and the version that first needs them: docs "install/postgresql_extensions".

export const REQUIRED_STOPS = [
  "8.11", "8.12", "8.17", "9.5", "10.0", "10.8", "11.0", "11.11", "12.0", "12.1", "12.10", "13.0", "13.1",
  "13.8", "13.12", "14.0", "14.3", "14.9", "14.10", "15.0", "15.4", "15.11", "16.3", "16.7", "16.11",
  "17.1", "17.3", "17.5", "17.8", "17.11", "18.2", "18.5", "18.8", "18.11",
] as const;

/** Latest known patch of each stop; stops not listed are given as <major.minor>.x (latest patch). */
export const LATEST_PATCH: Readonly<Record<string, string>> = {
  "12.10": "12.10.14", "13.0": "13.0.14", "13.1": "13.1.11", "13.8": "13.8.8", "13.12": "13.12.15",
  "14.0": "14.0.12", "15.0": "15.0.5", "15.4": "15.4.6", "15.11": "15.11.13", "16.3": "16.3.9",
  "16.7": "16.7.10", "16.11": "16.11.10", "17.1": "17.1.8", "17.3": "17.3.7", "17.5": "17.5.5",
  "17.8": "17.8.7", "17.11": "17.11.7",
};

/** Minimum PostgreSQL major per GitLab major. */
export const MIN_POSTGRES: Readonly<Record<number, number>> = { 13: 11, 14: 12, 15: 12, 16: 13, 17: 14, 18: 16, 19: 17 };

/** Extensions GitLab needs, with the first version that needs each. */
export const EXTENSIONS_SINCE: readonly (readonly [string, string])[] = [
  ["8.6", "pg_trgm"],
  ["11.7", "plpgsql"],
  ["13.1", "btree_gist"],
  ["18.4", "amcheck"],
];

export type Version = readonly [number, number, number];

export const VERSION_PATTERN = /^(\d+)\.(\d+)\.(\d+)$/;

export function parseVersion(v: string): Version {
  const m = VERSION_PATTERN.exec(v);
  if (!m) throw new Error(`not a GitLab version: ${v}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

const cmp = (a: readonly number[], b: readonly number[]) => a[0]! - b[0]! || a[1]! - b[1]! || (a[2] ?? 0) - (b[2] ?? 0);
const minorOf = (s: string) => s.split(".").map(Number) as [number, number];

/**
 * The versions to install, in order, to go from `from` to `to`: the latest patch of every
 * required stop after `from`'s minor and before `to`'s, then `to`.
 */
export function upgradePath(from: string, to: string): string[] {
  const f = parseVersion(from);
  const t = parseVersion(to);
  if (cmp(t, f) <= 0) return [to];
  const stops = REQUIRED_STOPS.filter((s) => {
    const [ma, mi] = minorOf(s);
    return cmp([ma, mi, 0], [f[0], f[1], 0]) > 0 && cmp([ma, mi, 0], [t[0], t[1], 0]) < 0;
  });
  return [...stops.map((s) => LATEST_PATCH[s] ?? `${s}.x (latest patch)`), to];
}

/** Extensions the given GitLab version needs. */
export function extensionsFor(version: string): string[] {
  const v = parseVersion(version);
  return EXTENSIONS_SINCE.filter(([since]) => cmp(v, [...minorOf(since), 0]) >= 0).map(([, e]) => e);
}

export function minPostgresFor(version: string): number | undefined {
  return MIN_POSTGRES[parseVersion(version)[0]];
}
