// Operating systems the program converges, and what each can install.
// Sources: PGDG's supported-platform matrices (apt.postgresql.org, yum.postgresql.org) and each
// distribution's own PostgreSQL package (Debian/Ubuntu `postgresql-N`, EL AppStream module streams).
// Extend these tables, not the scripts, when a new release appears.

export type OsFamily = "apt" | "dnf";
export type PackageSource = "pgdg" | "distribution";

export interface Platform {
  /** Package manager family: decides the install commands and the PostgreSQL file layout. */
  readonly family: OsFamily;
  /** Codename used by apt.postgresql.org, or the EL major version for yum.postgresql.org. */
  readonly release: string;
  /** PostgreSQL major versions installable from each package source. */
  readonly postgres: Readonly<Record<PackageSource, readonly number[]>>;
}

export const PLATFORMS = {
  "debian-11": { family: "apt", release: "bullseye", postgres: { pgdg: [13, 14, 15, 16, 17], distribution: [13] } },
  "debian-12": { family: "apt", release: "bookworm", postgres: { pgdg: [13, 14, 15, 16, 17, 18], distribution: [15] } },
  "debian-13": { family: "apt", release: "trixie", postgres: { pgdg: [13, 14, 15, 16, 17, 18], distribution: [17] } },
  "ubuntu-22.04": { family: "apt", release: "jammy", postgres: { pgdg: [13, 14, 15, 16, 17, 18], distribution: [14] } },
  "ubuntu-24.04": { family: "apt", release: "noble", postgres: { pgdg: [13, 14, 15, 16, 17, 18], distribution: [16] } },
  // EL distribution packages come from AppStream module streams, which use another file layout;
  // only PGDG packages are supported on dnf hosts (see README).
  el8: { family: "dnf", release: "8", postgres: { pgdg: [13, 14, 15, 16, 17], distribution: [] } },
  el9: { family: "dnf", release: "9", postgres: { pgdg: [13, 14, 15, 16, 17, 18], distribution: [] } },
  el10: { family: "dnf", release: "10", postgres: { pgdg: [16, 17, 18], distribution: [] } },
} as const satisfies Record<string, Platform>;

export type OsId = keyof typeof PLATFORMS;
export const OS_IDS = Object.keys(PLATFORMS) as [OsId, ...OsId[]];

export function platform(os: OsId): Platform {
  return PLATFORMS[os];
}

/** Where PostgreSQL lives on a host: the packaging conventions of each family. */
export interface PostgresLayout {
  readonly family: OsFamily;
  readonly version: number;
  readonly bindir: string;
  readonly dataDirectory: string;
  /** Directory holding postgresql.conf and pg_hba.conf. */
  readonly configDirectory: string;
  readonly service: string;
  /** The postgres OS user's home, where .pgpass lives. */
  readonly home: string;
}

export function postgresLayout(family: OsFamily, version: number, dataDirectory?: string): PostgresLayout {
  if (family === "apt") {
    return {
      family,
      version,
      bindir: `/usr/lib/postgresql/${version}/bin`,
      dataDirectory: dataDirectory ?? `/var/lib/postgresql/${version}/main`,
      configDirectory: `/etc/postgresql/${version}/main`,
      service: `postgresql@${version}-main`,
      home: "/var/lib/postgresql",
    };
  }
  const data = dataDirectory ?? `/var/lib/pgsql/${version}/data`;
  return {
    family,
    version,
    bindir: `/usr/pgsql-${version}/bin`,
    dataDirectory: data,
    configDirectory: data,
    service: `postgresql-${version}`,
    home: "/var/lib/pgsql",
  };
}
