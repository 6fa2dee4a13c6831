// Unplanned failover: `npm run db:failover -- --stack <s> --promote <host> [--fenced <old>]`.
// The primary is lost; the operator promotes its standby now and commits the role swap the
// command prints; the next `pulumi up` converges the rest (GitLab re-pointed, the old primary
// rejoined with pg_rewind once it is back, see switchover.ts).
// It refuses while the configured primary still answers as a primary, and while it does not
// answer at all (a partition looks the same from here as a dead host): promoting then makes two
// primaries that both take writes. An operator who has fenced it (FENCING below) names it with
// --fenced. Promotion ends recovery at the last WAL the standby received; with
// asynchronous replication, what the old primary committed after that is lost (PostgreSQL docs,
// high-availability "Failover"; postgres.synchronous closes that gap).
import { platform } from "../config/platforms";
import type { HostConfig, StackConfig } from "../config/schema";
import type { HostScript } from "../host/script";
import type { HostTarget } from "../host/target";
import { slotName } from "./render";
import { serverVars } from "./server";
import { SWITCHOVER_BODIES } from "./switchover";

export interface Probe {
  readonly role: "primary" | "standby" | "stopped" | "none" | "unreachable";
  readonly lsn: string;
  readonly detail?: string;
}

export function parseProbe(out: string): Probe {
  const m = /^role=(primary|standby|stopped|none) lsn=(\S*)$/m.exec(out);
  if (!m) throw new Error(`unexpected probe output: ${out.trim()}`);
  return { role: m[1] as Probe["role"], lsn: m[2]! };
}

export interface FailoverOptions {
  readonly config: StackConfig;
  /** Runs a host script on a host as root (the stack's SSH connections in the CLI). */
  readonly run: (host: string, script: Omit<HostScript, "host">) => Promise<string>;
  /** The standby to promote. */
  readonly promote: string;
  /** The old primary, named by the operator as fenced (it may still answer). */
  readonly fenced?: string;
  /** Stack file name, for the printed commands. */
  readonly stack: string;
  readonly log?: (line: string) => void;
}

export interface FailoverResult {
  readonly oldPrimary: string;
  readonly oldRole: Probe["role"];
  readonly promoted: boolean;
  /** The config change to commit, as text for the operator. */
  readonly configChange: string;
}

/** What the operator must have done before naming the old primary with --fenced. */
export const FENCING = "its GitLab stopped, and its PostgreSQL stopped or cut off from GitLab and the other database hosts, so that it cannot take a write";

const targetOf = (h: HostConfig): HostTarget => ({ name: h.name, config: h, family: platform(h.os).family, connection: {} as never, sudo: false, dependsOn: [] });

export async function failover(o: FailoverOptions): Promise<FailoverResult> {
  const log = o.log ?? (() => undefined);
  const hosts = o.config.hosts;
  const ti = hosts.findIndex((h) => h.name === o.promote);
  if (ti < 0) throw new Error(`--promote ${o.promote}: no such host in stack ${o.stack} (hosts: ${hosts.map((h) => h.name).join(", ")})`);
  const target = hosts[ti]!;
  if (!target.roles.includes("postgres-standby")) {
    throw new Error(`hosts[${ti}].roles: ${o.promote} does not have role postgres-standby; only a standby of the configured primary can be promoted`);
  }
  const oi = hosts.findIndex((h) => h.roles.includes("postgres-primary"));
  const old = hosts[oi]!;
  if (o.fenced !== undefined && o.fenced !== old.name) throw new Error(`--fenced ${o.fenced}: the configured primary is ${old.name}; name that one`);
  const vars = (h: HostConfig) => ({ ...serverVars({ host: targetOf(h), postgres: o.config.postgres, postgresConf: "", pgHba: "" }), HOST_NAME: h.name, WAIT_SECONDS: o.config.postgres.switchover.waitSeconds });
  const probe = async (h: HostConfig): Promise<Probe> => {
    try {
      return parseProbe(await o.run(h.name, { description: `failover: report the PostgreSQL role of ${h.name}`, vars: vars(h), bodies: SWITCHOVER_BODIES.probe }));
    } catch (e) {
      return { role: "unreachable", lsn: "", detail: e instanceof Error ? e.message.split("\n")[0]! : String(e) };
    }
  };

  const was = await probe(old);
  log(`${old.name} (configured primary): ${was.role}${was.lsn ? ` at ${was.lsn}` : ""}${was.detail ? ` (${was.detail})` : ""}`);
  // Unreachable from here is not down: in a partition GitLab may still write to it, and pg_rewind
  // discards those rows when it rejoins. Only the operator can know it is fenced.
  if ((was.role === "primary" || was.role === "unreachable") && o.fenced !== old.name) {
    throw new Error(
      was.role === "primary"
        ? `${old.name} still answers as a primary: promoting ${o.promote} now would make two primaries. For a planned move swap the roles in the config and run pulumi up (switchover); if ${old.name} is fenced (${FENCING}), name it: --fenced ${old.name}`
        : `${old.name} does not answer (${was.detail ?? "unreachable"}), which does not mean it is down: if GitLab still reaches it, it keeps taking writes that are lost when it rejoins. Fence it first (${FENCING}), or stop the GitLab containers, then name it: --fenced ${old.name}`,
    );
  }
  const now = await probe(target);
  log(`${target.name}: ${now.role}${now.lsn ? ` at ${now.lsn}` : ""}${now.detail ? ` (${now.detail})` : ""}`);
  let promoted = false;
  if (now.role === "standby") {
    // Slots for the old primary and every other standby, WAL reserved at the promotion (failover-promote.sh).
    const slots = hosts.filter((h) => h.name !== target.name && (h.roles.includes("postgres-primary") || h.roles.includes("postgres-standby"))).map((h) => slotName(h.name));
    const out = await o.run(target.name, { description: `failover: promote ${target.name}`, vars: { ...vars(target), SLOTS: slots }, bodies: SWITCHOVER_BODIES.failoverPromote });
    for (const l of out.split("\n").filter((x) => x.startsWith("gitlab-ha: changed: "))) log(`${target.name}: ${l.slice(20)}`);
    promoted = true;
  } else if (now.role !== "primary") {
    throw new Error(`${target.name} is ${now.role}${now.detail ? ` (${now.detail})` : ""}: not a running standby, nothing was promoted`);
  } else {
    log(`${target.name} already is a primary: nothing to promote`);
  }
  return { oldPrimary: old.name, oldRole: was.role, promoted, configChange: configChange(o.stack, hosts, oi, ti, was.role === "unreachable") };
}

/** The role swap to commit, as `pulumi config set --path` commands. */
export function configChange(stack: string, hosts: readonly HostConfig[], oldIndex: number, newIndex: number, oldUnreachable = false): string {
  const set = (i: number, from: string, to: string) => `pulumi config set --stack ${stack} --path 'gitlab-ha:hosts[${i}].roles[${hosts[i]!.roles.indexOf(from as never)}]' ${to}`;
  const old = hosts[oldIndex]!.name;
  return [
    `Commit this role swap to Pulumi.${stack}.yaml, then run pulumi up (GitLab follows the new primary; ${old} is rejoined with pg_rewind once it is back and stopped, or set postgres.rebuildStandbys.${old} to a new token to rebuild it):`,
    `  ${set(newIndex, "postgres-standby", "postgres-primary")}`,
    `  ${set(oldIndex, "postgres-primary", "postgres-standby")}`,
    `Until then keep ${old} from starting PostgreSQL as a primary (systemctl disable --now on its PostgreSQL service when it is back).`,
    // Every step on an unreachable host fails, and the new primary's steps wait for the stop
    // step on each configured standby: converge without it until it is back.
    ...(oldUnreachable
      ? [`${old} does not answer: until it is back, take it out of hosts[${oldIndex}] (or drop its postgres roles) so that pulumi up can converge ${hosts[newIndex]!.name} and GitLab; add it back as postgres-standby to rejoin it.`]
      : []),
  ].join("\n");
}
