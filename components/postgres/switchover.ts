// Planned switchover of the database as a config change: move `postgres-primary` to a standby
// host (and `postgres-standby` to the old primary), then `pulumi up`.
//
// How the program knows the roles changed: it does not remember them; each step compares the
// role the config gives its host with what the host's server is (pg_is_in_recovery(), pg_control).
// `postgres-switchover` runs on the configured primary and prints "switchover: <old> -> <new>"
// when that host is still a streaming standby; the other steps read that line (the old primary
// is the server the new one streams from) and do nothing without it. Because that resource
// keeps its name and its script names the primary and the standbys, `pulumi preview` shows it
// as an update from "make <old> the primary" to "make <new> the primary" before anything runs.
//
// Order (each step waits for the one before):
//   postgres-switchover (check, on the new primary) -> GitLab writes stopped (each GitLab node)
//   -> old primary stopped cleanly (on the configured standbys) -> promotion (new primary)
//   -> the primary's usual steps (slots for the standbys) -> rewind grants -> rejoin of the
//   old primary (pg_rewind when needed, standby.signal, its slot) -> the standby's usual steps;
//   GitLab, re-pointed by its rendered db_host, is started again after its node's steps.
import * as pulumi from "@pulumi/pulumi";
import type { remote } from "@pulumi/command";
import type { PostgresConfig } from "../config/schema";
import { hostCommand } from "../host/command";
import type { HostScript, ShellValue } from "../host/script";
import type { HostTarget } from "../host/target";
import { SLOT_PREFIX, slotName } from "./render";
import { PostgresServerArgs, serverVars } from "./server";

const S = "components/postgres/scripts";
export const SWITCHOVER_LIB = `${S}/switchover-lib.sh`;
const SERVER_LIB = `${S}/server-lib.sh`;
/** Step bodies, each after the switchover library. */
export const SWITCHOVER_BODIES = {
  check: [SWITCHOVER_LIB, `${S}/switchover-check.sh`],
  stop: [SWITCHOVER_LIB, `${S}/switchover-stop.sh`],
  promote: [SWITCHOVER_LIB, `${S}/switchover-slots.sh`, `${S}/switchover-promote.sh`],
  rewindRole: [SWITCHOVER_LIB, `${S}/switchover-rewind-role.sh`],
  rejoin: [SERVER_LIB, SWITCHOVER_LIB, `${S}/switchover-rejoin.sh`],
  gitlab: [`${S}/switchover-gitlab.sh`],
  probe: [SWITCHOVER_LIB, `${S}/failover-probe.sh`],
  failoverPromote: [SWITCHOVER_LIB, `${S}/switchover-slots.sh`, `${S}/failover-promote.sh`],
} as const;

/**
 * The plan line of the check step, when a switchover is due; `resuming` when the check found the
 * marker of a switchover that stopped half-way (switchover-check.sh).
 */
export function parseSwitchover(stdout: string | undefined): { from: string; to: string; resuming: boolean } | undefined {
  const m = /^gitlab-ha: switchover: (\S+) -> (\S+)( \(resuming)?/m.exec(stdout ?? "");
  return m ? { from: m[1]!, to: m[2]!, resuming: m[3] !== undefined } : undefined;
}

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/;

/** The old primary's shutdown checkpoint, from the stop steps' output ("" when none stopped). */
export function parseCheckpoint(stdouts: readonly (string | undefined)[]): string {
  const found = stdouts.flatMap((s) => [...(s ?? "").matchAll(/^gitlab-ha: checkpoint: (\S+)$/gm)].map((m) => m[1]!));
  if (found.length > 1) throw new Error(`more than one old primary reported a shutdown checkpoint: ${found.join(", ")}`);
  if (found[0] !== undefined && !LSN.test(found[0])) throw new Error(`unexpected checkpoint location '${found[0]}'`);
  return found[0] ?? "";
}

/** DB_PEERS: every database host as name=address:port, to name the server a standby streams from. */
export const peersVar = (hosts: readonly HostTarget[], port: number): string[] => hosts.map((h) => `${h.name}=${h.config.address}:${port}`);

export interface GitlabWriter {
  readonly host: HostTarget;
  /** DRBD nodes: GitLab runs under the failover engine's unit; elsewhere as a container. */
  readonly mode: "unit" | "container";
  readonly unit: string;
  readonly container: string;
}

/** The GitLab hook: stop before the old primary stops, start after the node is re-pointed (stdin: the plan). */
export function gitlabScript(w: GitlabWriter, action: "stop" | "start", stateDir = "/run"): Omit<HostScript, "host"> {
  return {
    description: `${action} GitLab on ${w.host.name} if a database switchover is due (the plan comes on stdin)`,
    vars: { ACTION: action, MODE: w.mode, GITLAB_UNIT: w.unit, CONTAINER: w.container, HOST_NAME: w.host.name, STATE_DIR: stateDir },
    bodies: SWITCHOVER_BODIES.gitlab,
  };
}

export interface PostgresSwitchoverArgs {
  readonly postgres: PostgresConfig;
  /** The host the config makes primary. */
  readonly primary: HostTarget;
  readonly standbys: readonly HostTarget[];
  readonly gitlab: readonly GitlabWriter[];
  /** Name of the check step, the resource `pulumi preview` shows for the switchover. */
  readonly stepName: string;
}

const serverArgs = (postgres: PostgresConfig, host: HostTarget): PostgresServerArgs => ({ host, postgres, postgresConf: "", pgHba: "" });

/** The steps before the new primary's own steps: check, GitLab stop, clean stop, promotion. */
export class PostgresSwitchover extends pulumi.ComponentResource {
  /** The check step, named for the switchover. */
  public readonly check: remote.Command;
  /** "old -> new" when this converge switches over, "" otherwise (unknown in a preview that will). */
  public readonly plan: pulumi.Output<string>;
  /** Last step: the configured primary is a primary (or holds no cluster yet). */
  public readonly promoted: remote.Command;

  constructor(name: string, args: PostgresSwitchoverArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:postgres:Switchover", name, {}, opts);
    const pg = args.postgres;
    const all = [args.primary, ...args.standbys];
    const vars = (h: HostTarget): Record<string, ShellValue> => ({
      ...serverVars(serverArgs(pg, h)),
      HOST_NAME: h.name,
      NEW_PRIMARY: args.primary.name,
      DB_PEERS: peersVar(all, pg.port),
      REBUILD_TOKEN: pg.rebuildStandbys[h.name] ?? "",
    });
    const standbyNames = args.standbys.map((s) => s.name).join(", ") || "none";
    const step = args.stepName;
    this.check = hostCommand(
      step,
      {
        host: args.primary,
        script: {
          description: `switchover check: make ${args.primary.name} the primary (standbys: ${standbyNames}) if it is still a standby`,
          vars: { ...vars(args.primary), MAX_LAG_BYTES: pg.switchover.maxLagBytes },
          bodies: SWITCHOVER_BODIES.check,
        },
      },
      { parent: this },
    );
    const plan = this.check.stdout.apply((out) => parseSwitchover(out));
    this.plan = plan.apply((p) => (p ? `${p.from} -> ${p.to}` : ""));
    const from = plan.apply((p) => p?.from ?? "");
    // The stop step's stdin: the old primary, and whether the check resumes an interrupted switchover.
    const stopInput = plan.apply((p) => `${p?.from ?? ""}\n${p?.resuming ? "resuming" : ""}\n`);

    // The later steps' scripts are fixed (preview and render show them); what the check found
    // comes on stdin, so the engine runs them again exactly when it changes (@pulumi/command
    // remote/command.d.ts: without `update`, `create` runs again when the inputs are modified).
    const gitlabStops = args.gitlab.map((w) =>
      hostCommand(`${step}-gitlab-stop-${w.host.name}`, { host: w.host, script: gitlabScript(w, "stop"), stdin: this.plan.apply((p) => `${p}\n`) }, { parent: this, dependsOn: [this.check] }),
    );
    const stops = args.standbys.map((s) =>
      hostCommand(
        `${step}-stop-${s.name}`,
        {
          host: s,
          script: { description: `switchover: stop the old primary ${s.name} cleanly if it is the one being replaced (its name comes on stdin)`, vars: vars(s), bodies: SWITCHOVER_BODIES.stop },
          stdin: stopInput,
        },
        { parent: this, dependsOn: [this.check, ...gitlabStops] },
      ),
    );
    const checkpoint = pulumi.all(stops.map((c) => c.stdout)).apply((outs) => parseCheckpoint(outs));
    this.promoted = hostCommand(
      `${step}-promote`,
      {
        host: args.primary,
        script: {
          description: `switchover: promote ${args.primary.name} once it has replayed the old primary's last WAL (name and checkpoint on stdin)`,
          vars: { ...vars(args.primary), WAIT_SECONDS: pg.switchover.waitSeconds, SLOTS: args.standbys.map((s) => slotName(s.name)) },
          bodies: SWITCHOVER_BODIES.promote,
        },
        stdin: pulumi.all([from, checkpoint]).apply(([f, cp]) => `${f}\n${cp}\n`),
      },
      { parent: this, dependsOn: stops.length ? stops : [this.check] },
    );
    this.registerOutputs({ plan: this.plan });
  }
}

/** On the primary, after its own steps: the grants pg_rewind needs on its source. */
export function rewindRoleStep(name: string, postgres: PostgresConfig, primary: HostTarget, after: pulumi.Resource, parent: pulumi.Resource): remote.Command {
  return hostCommand(
    name,
    {
      host: primary,
      script: {
        description: `let ${postgres.replicationUser} be the source of a rewind on ${primary.name}`,
        vars: { ...serverVars(serverArgs(postgres, primary)), REPLICATION_USER: postgres.replicationUser },
        bodies: SWITCHOVER_BODIES.rewindRole,
      },
    },
    { parent, dependsOn: [after] },
  );
}

/**
 * On a standby, before its own steps: a former primary (after a switchover or a failover) is
 * rejoined to the configured primary. Its script names the primary, so it runs when that changes.
 */
export function rejoinStep(
  name: string,
  a: { postgres: PostgresConfig; standby: HostTarget; primary: HostTarget; replicationPassword: pulumi.Input<string>; after: pulumi.Resource[] },
  parent: pulumi.Resource,
): remote.Command {
  const pg = a.postgres;
  return hostCommand(
    name,
    {
      host: a.standby,
      script: {
        description: `rejoin ${a.standby.name} as a standby of ${a.primary.name} if it was a primary (pg_rewind when needed)`,
        vars: {
          ...serverVars(serverArgs(pg, a.standby)),
          HOST_NAME: a.standby.name,
          NEW_PRIMARY: a.primary.name,
          PRIMARY_HOST: a.primary.config.address,
          PRIMARY_PORT: pg.port,
          REPLICATION_USER: pg.replicationUser,
          SLOT: slotName(a.standby.name),
          SLOT_PREFIX,
          REBUILD_TOKEN: pg.rebuildStandbys[a.standby.name] ?? "",
          WAIT_SECONDS: pg.switchover.waitSeconds,
        },
        bodies: SWITCHOVER_BODIES.rejoin,
      },
      stdin: pulumi.secret(pulumi.output(a.replicationPassword).apply((p) => `${p}\n`)),
      sensitive: true,
    },
    // pg_rewind overwrites the data directory: never two copies of this step at once.
    { parent, dependsOn: a.after, deleteBeforeReplace: true },
  );
}

/** After a GitLab node's own steps: start GitLab again if the switchover's hook stopped it. */
export function gitlabStartStep(name: string, w: GitlabWriter, plan: pulumi.Output<string>, after: pulumi.Resource[]): remote.Command {
  return hostCommand(name, { host: w.host, script: gitlabScript(w, "start"), stdin: plan.apply((p) => `${p}\n`) }, { dependsOn: after });
}
