// Config checks of the database against GitLab, run with the other cross-key rules before
// anything is created. They read the raw input defensively, as rules.ts does.
import { PLATFORMS } from "../config/platforms";
import { VERSION_PATTERN } from "../gitlab/upgrade";
import { pgDumpFor } from "./gitlab-pg-clients";
import { activeNodes, GitlabLoad, requiredConnections } from "./sizing";

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (v && typeof v === "object" && !Array.isArray(v) ? (v as Raw) : {});
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isInteger(v) ? v : undefined);

/** The GitLab load as config describes it (GitLab's defaults where keys are unset). */
export function gitlabLoadOf(input: Raw): GitlabLoad {
  const gitlab = obj(input.gitlab);
  const hosts = Array.isArray(input.hosts) ? input.hosts.map(obj) : [];
  return {
    nodes: hosts
      .filter((h) => Array.isArray(h.roles) && h.roles.includes("gitlab"))
      .map((h) => ({ name: String(h.name), drbd: (h.roles as unknown[]).includes("drbd"), cpus: num(h.cpus), memoryMiB: num(h.memoryMiB) })),
    puma: { workerProcesses: num(obj(gitlab.puma).workerProcesses), maxThreads: num(obj(gitlab.puma).maxThreads) ?? 4 },
    sidekiq: { concurrency: num(obj(gitlab.sidekiq).concurrency) ?? 20 },
  };
}

export function postgresForGitlabIssues(input: Raw, add: (path: string, message: string) => void): void {
  const pg = obj(input.postgres);
  const serverMajor = num(pg.version) ?? 16;
  const version = obj(input.gitlab).version;
  if (typeof version === "string" && VERSION_PATTERN.test(version)) {
    const dump = pgDumpFor(version, serverMajor);
    if (dump && dump.major < serverMajor) {
      const newest = Math.max(...dump.bundled.majors);
      add(
        "postgres.version",
        serverMajor > newest
          ? `PostgreSQL ${serverMajor} is newer than the newest client GitLab ${version} bundles (${dump.bundled.majors.join(", ")}): its backup's pg_dump (${dump.major}) refuses a newer server; use PostgreSQL ${newest} or a GitLab release that bundles ${serverMajor}`
          : `GitLab ${version} bundles PostgreSQL clients ${dump.bundled.majors.join(", ")}, not ${serverMajor}: its backup would use pg_dump ${dump.major}, which refuses a newer server; use one of ${dump.bundled.majors.join(", ")}`,
      );
    }
  }
  // The rejoin of a former primary (switchover-rejoin.sh) passes pg_rewind --config-file where
  // postgresql.conf lives outside the data directory (Debian/Ubuntu): an option PostgreSQL 15 added
  // (release notes 15, pg_rewind; Ubuntu 22.04's pg_rewind(1) of 14 has none). EL keeps it inside.
  const hosts = Array.isArray(input.hosts) ? input.hosts.map(obj) : [];
  const dbApt = hosts.filter((h) => Array.isArray(h.roles) && h.roles.some((r) => r === "postgres-primary" || r === "postgres-standby"))
    .filter((h) => (PLATFORMS as Record<string, { family: string }>)[typeof h.os === "string" ? h.os : "debian-12"]?.family === "apt");
  const hasStandby = hosts.some((h) => Array.isArray(h.roles) && h.roles.includes("postgres-standby"));
  if (hasStandby && serverMajor < 15 && dbApt.length > 0) {
    add(
      "postgres.version",
      `PostgreSQL ${serverMajor} with a standby on ${dbApt.map((h) => String(h.name)).join(", ")} (Debian/Ubuntu): rejoining a former primary after a switchover or failover runs pg_rewind --config-file, which PostgreSQL 15 added; use 15 or newer (postgres.packageSource pgdg where the distribution ships an older one, such as Ubuntu 22.04's 14)`,
    );
  }
  const given = num(obj(pg.settings).max_connections);
  if (given !== undefined) {
    const load = gitlabLoadOf(input);
    const need = requiredConnections(load);
    if (given < need) {
      add(
        "postgres.settings.max_connections",
        `${given} is below the ${need} GitLab needs here: ${activeNodes(load).length} GitLab node(s) at a time, two connection sets (main and ci) since GitLab 16.0, Puma and Sidekiq pools with their headroom (GitLab docs, administration/postgresql/tune), at least 400`,
      );
    }
  }
}
