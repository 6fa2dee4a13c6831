// Steps shared by the primary and the standbys: package install, the managed configuration files
// and the service. Each component calls them with itself as parent, in its own order.
import * as pulumi from "@pulumi/pulumi";
import type { remote } from "@pulumi/command";
import { PostgresLayout, postgresLayout, platform } from "../config/platforms";
import type { PostgresConfig } from "../config/schema";
import { hostCommand } from "../host/command";
import { HostFile } from "../host/file";
import type { ShellValue } from "../host/script";
import type { HostTarget } from "../host/target";

export interface PostgresServerArgs {
  /** The database host. */
  readonly host: HostTarget;
  /** The stack's `postgres` settings. */
  readonly postgres: PostgresConfig;
  /** Rendered conf.d/50-gitlab-ha.conf (identical on every database host). */
  readonly postgresConf: string;
  /** Rendered pg_hba.conf (identical on every database host). */
  readonly pgHba: string;
}

export function layoutOf(args: PostgresServerArgs): PostgresLayout {
  return postgresLayout(args.host.family, args.postgres.version, args.postgres.dataDirectory);
}

/** Variables every PostgreSQL script gets. */
export function serverVars(args: PostgresServerArgs): Record<string, ShellValue> {
  const l = layoutOf(args);
  return {
    OS_FAMILY: l.family,
    OS_RELEASE: platform(args.host.config.os).release,
    PG_VERSION: l.version,
    PG_PORT: args.postgres.port,
    BINDIR: l.bindir,
    DATA_DIR: l.dataDirectory,
    CONF_DIR: l.configDirectory,
    SERVICE: l.service,
    MANAGED_CONF: managedConfPath(l),
  };
}

/** The program's own settings file, included from postgresql.conf. */
export const managedConfPath = (l: PostgresLayout) => `${l.configDirectory}/conf.d/50-gitlab-ha.conf`;

export function installStep(name: string, args: PostgresServerArgs, parent: pulumi.Resource): remote.Command {
  return hostCommand(
    `${name}-install`,
    {
      host: args.host,
      script: {
        description: `install PostgreSQL ${args.postgres.version} on ${args.host.name}`,
        vars: { ...serverVars(args), PACKAGE_SOURCE: args.postgres.packageSource },
        bodies: ["components/postgres/scripts/install.sh"],
      },
    },
    { parent },
  );
}

/**
 * The managed files, then the service step that applies them. `after` is the step that makes
 * the configuration directory exist (cluster creation or base backup).
 */
export function configureAndRun(name: string, args: PostgresServerArgs, after: pulumi.Resource, parent: pulumi.Resource): remote.Command {
  const l = layoutOf(args);
  // Every managed file waits for the step that makes its directory exist.
  const file = (suffix: string, path: string, content: string, o: { owner?: string; mode?: string; createDirectory?: boolean } = {}) =>
    new HostFile(
      `${name}-${suffix}`,
      { host: args.host, path, content, mode: o.mode ?? "0640", owner: o.owner ?? "postgres", group: o.owner ?? "postgres", ...(o.createDirectory ? { createDirectory: true } : {}) },
      { parent, dependsOn: [after] },
    );
  const files = [
    file("conf", managedConfPath(l), args.postgresConf, { createDirectory: true }),
    file("hba", `${l.configDirectory}/pg_hba.conf`, args.pgHba),
  ];
  if (l.family === "dnf" && args.postgres.dataDirectory) {
    // PGDG's unit reads PGDATA from its environment; a drop-in moves it, the unit stays packaged.
    files.push(
      file("pgdata", `/etc/systemd/system/${l.service}.service.d/50-gitlab-ha-pgdata.conf`, `[Service]\nEnvironment=PGDATA=${l.dataDirectory}\n`, {
        owner: "root",
        mode: "0644",
        createDirectory: true,
      }),
    );
  }
  return hostCommand(
    `${name}-service`,
    {
      host: args.host,
      script: {
        description: `run ${l.service} on ${args.host.name} with its current configuration`,
        vars: serverVars(args),
        bodies: ["components/postgres/scripts/server-lib.sh", "components/postgres/scripts/service.sh"],
      },
      // A changed file re-runs the step, which reloads or restarts only as needed.
      triggers: files.map((f) => f.contentHash),
    },
    { parent, dependsOn: files },
  );
}
