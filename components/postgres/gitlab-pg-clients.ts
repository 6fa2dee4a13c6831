// The PostgreSQL client binaries (pg_dump, psql) each GitLab release bundles, as data.
// Source: gitlab doc/administration/package_information/postgresql_versions.md ("PostgreSQL
// versions shipped with the Linux package", rows from 12.0 up to 19.3.0), transcribed as given:
// a row holds from its first version(s) on; patch rows name several minors ("16.4.3, 16.5.3, 16.6.1").
// With an external database, omnibus-gitlab files/gitlab-cookbooks/postgresql/recipes/bin.rb links
// the bundled binaries of `postgresql['version']` when it ships them, and otherwise warns
// "We do not ship client binaries for PostgreSQL N" and keeps the default ones; `gitlab-backup`
// runs that pg_dump, which refuses a server newer than itself.
import { parseVersion, Version } from "../gitlab/upgrade";

export interface BundledPostgres {
  /** First GitLab version(s) of the row. */
  readonly since: readonly string[];
  /** PostgreSQL majors the package ships. */
  readonly majors: readonly number[];
  /** Major linked by default (the table's "default version for fresh installs"). */
  readonly fallback: number;
}

const row = (since: string, majors: number[], fallback: number): BundledPostgres => ({ since: since.split(", "), majors, fallback });

export const BUNDLED_POSTGRES: readonly BundledPostgres[] = [
  row("12.0.0", [9.6, 10], 10),
  row("12.8.0", [9.6, 10, 11], 10),
  row("12.10.0", [9.6, 10, 11], 11),
  row("13.0.0", [11], 11),
  row("13.3.0", [11, 12], 11),
  row("13.4.0", [11, 12], 11),
  row("13.7.0", [11, 12], 12),
  row("13.8.0", [11, 12], 12),
  row("14.0.0", [12], 12),
  row("14.1.0", [12, 13], 12),
  row("15.0.0", [12, 13], 13),
  row("15.6.0", [12, 13], 13),
  row("15.10.8", [13], 13),
  row("15.11.7", [13], 13),
  row("16.0.0", [13], 13),
  row("16.0.2", [13], 13),
  row("16.2.0", [13, 14], 13),
  row("16.4.3, 16.5.3, 16.6.1", [13, 14], 13),
  row("16.7.0", [13, 14], 14),
  row("16.6.7, 16.7.5, 16.8.2", [13, 14], 14),
  row("16.10.1, 16.9.3, 16.8.5", [13, 14], 14),
  row("17.0.0", [14], 14),
  row("17.4.0", [14, 16], 14),
  row("17.5.0", [14, 16], 14),
  row("17.8.0", [14, 16], 14),
  row("17.9.2, 17.8.5, 17.7.7", [14, 16], 14),
  row("17.10.0", [14, 16], 16),
  row("17.11.0", [14, 16], 16),
  row("18.0.0", [16], 16),
  row("18.4.1, 18.3.3, 18.2.7", [16], 16),
  row("18.11.0", [16, 17], 17),
  row("19.0.0", [17], 17),
  row("19.3.0", [17, 18], 17),
];

const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/**
 * The row that holds for a GitLab version: a patch row counts from its patch within its own
 * minors and from its newest entry on; the latest applicable row wins. Undefined before 12.0 and
 * for a major newer than the table knows (no claim is made then).
 */
export function bundledPostgresFor(gitlabVersion: string): BundledPostgres | undefined {
  const v = parseVersion(gitlabVersion);
  const newest = parseVersion(BUNDLED_POSTGRES[BUNDLED_POSTGRES.length - 1]!.since[0]!);
  if (v[0] > newest[0]) return undefined;
  let best: { at: Version; row: BundledPostgres } | undefined;
  for (const r of BUNDLED_POSTGRES) {
    const since = r.since.map(parseVersion);
    const sameMinor = since.find((s) => s[0] === v[0] && s[1] === v[1]);
    const latest = since.reduce((a, b) => (cmp(a, b) >= 0 ? a : b));
    const at = sameMinor ? (cmp(v, sameMinor) >= 0 ? sameMinor : undefined) : cmp(v, latest) >= 0 ? latest : undefined;
    if (at && (!best || cmp(at, best.at) >= 0)) best = { at, row: r };
  }
  return best?.row;
}

/** The pg_dump major GitLab's backup uses against a server of `serverMajor`, and the row it comes from. */
export function pgDumpFor(gitlabVersion: string, serverMajor: number): { major: number; bundled: BundledPostgres } | undefined {
  const bundled = bundledPostgresFor(gitlabVersion);
  if (!bundled) return undefined;
  return { major: bundled.majors.includes(serverMajor) ? serverMajor : bundled.fallback, bundled };
}
