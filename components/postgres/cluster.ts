// The external database of GitLab: one primary and its streaming standbys, with pg_hba rules and
// slots derived from the hosts' roles, and passwords from config secrets or generated.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { GitlabConfig, PostgresConfig } from "../config/schema";
import type { HostTarget } from "../host/target";
import { PostgresPrimary } from "./primary";
import { renderPgHba, renderPostgresConf, slotName } from "./render";
import { gitlabSettings } from "./sizing";
import { PostgresStandby } from "./standby";
import { GitlabWriter, PostgresSwitchover, rejoinStep, rewindRoleStep } from "./switchover";

export interface PostgresClusterArgs {
  readonly postgres: PostgresConfig;
  readonly primary: HostTarget;
  readonly standbys: readonly HostTarget[];
  /** Hosts whose GitLab connects as the gitlab role. */
  readonly gitlabHosts: readonly HostTarget[];
  /** GitLab's Puma and Sidekiq sizes: the database's connections derive from them. */
  readonly gitlab: Pick<GitlabConfig, "puma" | "sidekiq">;
  /** From config secrets; generated (and kept in state) when absent. */
  readonly replicationPassword?: pulumi.Input<string>;
  readonly gitlabPassword?: pulumi.Input<string>;
  /** GitLab nodes whose writes stop while the primary moves (switchover.ts). */
  readonly gitlabWriters?: readonly GitlabWriter[];
  /**
   * Protect generated passwords from an accidental destroy or replace (lab stacks come and go:
   * false there). Rotating one is deliberate: README, "Rotating a generated password".
   */
  readonly protectPasswords?: boolean;
}

/** Addresses a host's connections come from: its address and any declared source addresses. */
const clientOf = (h: HostTarget) => ({ host: h.name, addresses: [h.config.address, ...h.config.sourceAddresses] });

export class PostgresCluster extends pulumi.ComponentResource {
  public readonly primary: PostgresPrimary;
  public readonly standbys: readonly PostgresStandby[];
  /** The switchover steps; `plan` is "old -> new" when this converge moves the primary. */
  public readonly switchover: PostgresSwitchover;
  /** Password of the gitlab role, for GitLab's database settings (secret). */
  public readonly gitlabPassword: pulumi.Output<string>;

  constructor(name: string, args: PostgresClusterArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:postgres:Cluster", name, {}, opts);
    const pg = args.postgres;
    // Secret in every case: a provider that forgot to mark `result` secret cannot leak it.
    const password = (suffix: string, given?: pulumi.Input<string>) =>
      pulumi.secret(given ?? new random.RandomPassword(`${name}-${suffix}`, { length: 32, special: false }, { parent: this, protect: args.protectPasswords ?? true }).result);
    const replicationPassword = password("replication-password", args.replicationPassword);
    this.gitlabPassword = password("gitlab-password", args.gitlabPassword);

    const dbHosts = [args.primary, ...args.standbys];
    const common = {
      postgres: pg,
      postgresConf: renderPostgresConf(
        pg,
        gitlabSettings(
          { nodes: args.gitlabHosts.map((h) => ({ ...h.config, drbd: h.config.roles.includes("drbd") })), puma: args.gitlab.puma, sidekiq: args.gitlab.sidekiq },
          dbHosts.map((h) => h.config.memoryMiB),
        ),
      ),
      pgHba: renderPgHba({
        database: pg.database,
        gitlabUser: pg.gitlabUser,
        replicationUser: pg.replicationUser,
        replicationPeers: dbHosts.map(clientOf),
        gitlabClients: args.gitlabHosts.map(clientOf),
      }),
    };
    // Before the primary's own steps: a standby the config made primary takes over first.
    this.switchover = new PostgresSwitchover(
      `${name}-switchover-steps`,
      { postgres: pg, primary: args.primary, standbys: args.standbys, gitlab: args.gitlabWriters ?? [], stepName: `${name}-switchover` },
      { parent: this },
    );
    this.primary = new PostgresPrimary(
      `${name}-${args.primary.name}`,
      {
        ...common,
        host: args.primary,
        replicationPassword,
        gitlabPassword: this.gitlabPassword,
        slots: args.standbys.map((s) => slotName(s.name)),
        after: [this.switchover.promoted],
      },
      { parent: this },
    );
    const rewindRole = rewindRoleStep(`${name}-rewind-role`, pg, args.primary, this.primary.ready, this);
    this.standbys = args.standbys.map(
      (s) =>
        new PostgresStandby(
          `${name}-${s.name}`,
          {
            ...common,
            host: s,
            primary: this.primary.endpoint,
            primaryReady: this.primary.ready,
            replicationPassword,
            slot: slotName(s.name),
            ...(pg.rebuildStandbys[s.name] ? { rebuildToken: pg.rebuildStandbys[s.name] } : {}),
            after: [rejoinStep(`${name}-rejoin-${s.name}`, { postgres: pg, standby: s, primary: args.primary, replicationPassword, after: [this.primary.ready, rewindRole] }, this)],
          },
          { parent: this },
        ),
    );
    this.registerOutputs({ endpoint: this.primary.endpoint });
  }
}
