// The PostgreSQL primary: installed, initialised once, configured for streaming replication,
// with the roles, database, extensions and standby slots GitLab and the standbys need.
import * as pulumi from "@pulumi/pulumi";
import type { remote } from "@pulumi/command";
import { hostCommand } from "../host/command";
import { configureAndRun, installStep, PostgresServerArgs, serverVars } from "./server";
import { scramVerifier, SLOT_PREFIX } from "./render";

export interface PostgresPrimaryArgs extends PostgresServerArgs {
  /** Password of `postgres.replicationUser` (a Pulumi secret). */
  readonly replicationPassword: pulumi.Input<string>;
  /** Password of `postgres.gitlabUser` (a Pulumi secret). */
  readonly gitlabPassword: pulumi.Input<string>;
  /** Physical replication slots to keep, one per standby. */
  readonly slots: readonly string[];
  /** Steps before the cluster step (the switchover's promotion). */
  readonly after?: readonly pulumi.Resource[];
}

export class PostgresPrimary extends pulumi.ComponentResource {
  /** Address and port clients and standbys connect to. */
  public readonly endpoint: { readonly host: string; readonly port: number };
  /** Last step: once it is done, roles, database and slots exist and the server runs. */
  public readonly ready: remote.Command;

  constructor(name: string, args: PostgresPrimaryArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:postgres:Primary", name, {}, opts);
    const pg = args.postgres;
    const install = installStep(name, args, this);
    const cluster = hostCommand(
      `${name}-cluster`,
      {
        host: args.host,
        script: {
          description: `create the PostgreSQL cluster on ${args.host.name} unless one exists`,
          vars: serverVars(args),
          bodies: ["components/postgres/scripts/cluster.sh"],
        },
      },
      { parent: this, dependsOn: [install, ...(args.after ?? [])] },
    );
    const service = configureAndRun(name, args, cluster, this);
    const verifiers = pulumi
      .all([args.replicationPassword, args.gitlabPassword])
      .apply(([repl, gitlab]) => `${scramVerifier(repl, pg.replicationUser)}\n${scramVerifier(gitlab, pg.gitlabUser)}\n`);
    this.ready = hostCommand(
      `${name}-objects`,
      {
        host: args.host,
        script: {
          description: `roles, database ${pg.database}, extensions and replication slots on ${args.host.name}`,
          vars: {
            BINDIR: serverVars(args).BINDIR!,
            PG_PORT: pg.port,
            DATABASE: pg.database,
            GITLAB_USER: pg.gitlabUser,
            GITLAB_CREATEDB: pg.gitlabUserCreatedb,
            REPLICATION_USER: pg.replicationUser,
            EXTENSIONS: pg.extensions,
            SLOT_PREFIX,
            SLOTS: args.slots,
          },
          bodies: ["components/postgres/scripts/objects.sh"],
        },
        stdin: pulumi.secret(verifiers),
        sensitive: true,
      },
      { parent: this, dependsOn: [service] },
    );
    this.endpoint = { host: args.host.config.address, port: pg.port };
    this.registerOutputs({ endpoint: this.endpoint });
  }
}
