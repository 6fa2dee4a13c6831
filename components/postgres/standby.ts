// A streaming standby: built once from the primary with pg_basebackup -R on its own slot, then
// configured like the primary so that it can take over.
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { remote } from "@pulumi/command";
import { hostCommand } from "../host/command";
import { HostFile } from "../host/file";
import { renderPgpassLine } from "./render";
import { configureAndRun, installStep, layoutOf, PostgresServerArgs, serverVars } from "./server";

export interface PostgresStandbyArgs extends PostgresServerArgs {
  /** The primary to replicate from. */
  readonly primary: { readonly host: string; readonly port: number };
  /** Step after which the primary accepts the replication role on this standby's slot. */
  readonly primaryReady: pulumi.Resource;
  /** Password of `postgres.replicationUser` (a Pulumi secret). */
  readonly replicationPassword: pulumi.Input<string>;
  /** This standby's physical replication slot on the primary. */
  readonly slot: string;
  /** postgres.rebuildStandbys entry for this host, if any. */
  readonly rebuildToken?: string;
  /** Steps before the base backup step (the rejoin of a former primary). */
  readonly after?: readonly pulumi.Resource[];
}

export class PostgresStandby extends pulumi.ComponentResource {
  public readonly slot: string;
  /** The standby's host name. */
  public readonly host: string;
  public readonly ready: remote.Command;

  constructor(name: string, args: PostgresStandbyArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:postgres:Standby", name, {}, opts);
    const pg = args.postgres;
    const l = layoutOf(args);
    const install = installStep(name, args, this);
    const pgpass = new HostFile(
      `${name}-pgpass`,
      {
        host: args.host,
        path: `${l.home}/.pgpass`,
        content: pulumi
          .output(args.replicationPassword)
          .apply((pw) => renderPgpassLine(args.primary.host, args.primary.port, "replication", pg.replicationUser, pw)),
        secret: true,
        mode: "0600",
        owner: "postgres",
        group: "postgres",
        removeOnDelete: true,
      },
      { parent: this, dependsOn: [install] },
    );
    // What the base backup and the streaming check both need to reach the primary on this slot.
    const replicationVars = {
      ...serverVars(args),
      HOST_NAME: args.host.name,
      PRIMARY_HOST: args.primary.host,
      PRIMARY_PORT: args.primary.port,
      REPLICATION_USER: pg.replicationUser,
      SLOT: args.slot,
    };
    const basebackup = hostCommand(
      `${name}-basebackup`,
      {
        host: args.host,
        script: {
          description: `build the standby ${args.host.name} from ${args.primary.host} unless it is one already`,
          vars: {
            ...replicationVars,
            CHECKPOINT: pg.basebackup.checkpoint,
            MAX_RATE: pg.basebackup.maxRate ?? "",
            REBUILD_TOKEN: args.rebuildToken ?? "",
          },
          bodies: ["components/postgres/scripts/basebackup.sh"],
        },
      },
      // Destroys nothing it did not create, but must never run twice at once for one host.
      { parent: this, dependsOn: [pgpass, args.primaryReady, ...(args.after ?? [])], deleteBeforeReplace: true },
    );
    // The standby's files and service wait for the primary's steps (basebackup depends on
    // primaryReady), so a changed max_connections & co. restarts the primary first and this
    // standby right after with the same values: a lowered value never reaches the standby before
    // the primary; a raised one pauses replay (PostgreSQL 14+) or stops the standby (older) until
    // this service step restarts or starts it with the new value (PostgreSQL docs, hot-standby-admin).
    const service = configureAndRun(name, args, basebackup, this);
    // Done only once the standby streams from the primary; runs again whenever the configuration
    // or the rebuild token changes (a rebuild restarts the server without the service step).
    this.ready = hostCommand(
      `${name}-streaming`,
      {
        host: args.host,
        script: {
          description: `wait until ${args.host.name} streams from ${args.primary.host}`,
          vars: {
            ...replicationVars,
            STREAM_TIMEOUT: pg.streamingTimeoutSeconds,
          },
          bodies: ["components/postgres/scripts/streaming.sh"],
        },
        triggers: [crypto.createHash("sha256").update(`${args.postgresConf}\0${args.pgHba}`).digest("hex"), args.rebuildToken ?? ""],
      },
      { parent: this, dependsOn: [service] },
    );
    this.slot = args.slot;
    this.host = args.host.name;
    this.registerOutputs({ slot: this.slot });
  }
}
