// The split-brain recovery of runbook section 7 (LINBIT DRBD 9 user's guide, "Manual split brain
// recovery"), as a command instead of prose. Nothing is stopped before everything is checked:
//   1. read-only report from every DRBD data node (each must answer over SSH, as itself);
//   2. the operator names the survivor (no default) and types each victim's name (no default);
//      refused: a node that is not a data node, survivor == victim, no StandAlone connection
//      between survivor and victim (no split brain to recover);
//   3. the failover engine stops on every data node; on each victim GitLab's unit stops (its
//      bind mounts keep the volume busy), the volume is unmounted, DRBD demoted and the
//      connection to the survivor re-made with --discard-my-data; the survivor reconnects that
//      one connection only; the sentinel's state.db goes; the engine starts again, survivor first.
// On an error after it stopped something, it restarts what it stopped (until a victim's discard
// has been accepted by DRBD: from then on that victim's data is being replaced, and only the
// failover engines are restarted).
// It reaches the nodes with the stack's own SSH connections (from the evaluated program).
import * as path from "node:path";
import type { ShellValue } from "../host/script";
import { stackHosts } from "../offline/connections";
import { SENTINEL_UNIT } from "./render";

export const REACTOR_UNIT = "drbd-reactor.service";

export interface NodeReport {
  /** The node's own name (uname -n): DRBD matches it against the resource's `on` sections. */
  readonly node: string;
  readonly role: string;
  readonly gi: string;
  readonly newestGit: number;
  readonly mounted: boolean;
  /** ActiveState of the failover engine's unit and of GitLab's unit. */
  readonly failover: string;
  readonly gitlab: string;
  /** Connection state towards each other data node, by node name (drbdadm cstate <res>:<peer>). */
  readonly peers: Readonly<Record<string, string>>;
}

/** A refusal before anything was changed. */
export class RecoveryRefused extends Error {}

export interface RecoverOptions {
  readonly stackFile: string;
  readonly stack?: string;
  readonly overrides?: Record<string, unknown>;
  /** Names the surviving node (flag, prompt or test); nothing is suggested as a default. */
  readonly survivor: (reports: readonly NodeReport[], suggested: string | undefined) => Promise<string>;
  /** The operator types the name of the node whose data is discarded; compared with `victim`. */
  readonly confirmVictim: (victim: string, survivor: string) => Promise<string>;
  readonly log?: (line: string) => void;
}

export function parseReport(line: string): NodeReport {
  const fields = line.trim().split(/\s+/);
  const f: Record<string, string> = {};
  const peers: Record<string, string> = {};
  for (const kv of fields) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new Error(`unexpected report line: ${line}`);
    const [k, v] = [kv.slice(0, i), kv.slice(i + 1)];
    if (k.startsWith("peer:")) peers[k.slice(5)] = v;
    else f[k] = v;
  }
  const required = ["node", "role", "gi", "newest_git", "mounted", "failover", "gitlab"];
  if (required.some((k) => !f[k]) || !/^\d+$/.test(f.newest_git!)) throw new Error(`unexpected report line: ${line}`);
  return { node: f.node!, role: f.role!, gi: f.gi!, newestGit: Number(f.newest_git), mounted: f.mounted === "yes", failover: f.failover!, gitlab: f.gitlab!, peers };
}

/** The node with the newest git data, when one is strictly newest. */
export function suggest(reports: readonly NodeReport[]): string | undefined {
  const sorted = [...reports].sort((a, b) => b.newestGit - a.newestGit);
  return sorted.length && (sorted.length === 1 || sorted[0]!.newestGit > sorted[1]!.newestGit) ? sorted[0]!.node : undefined;
}

/**
 * The decision, from the reports alone: which data nodes are split from the survivor. A pair is
 * split when either end sees the other StandAlone (after "Split-Brain detected, dropping
 * connection!" at least one side is StandAlone; the other may still be Connecting). Two ends that
 * are both Connecting are a network problem, not a split brain: nothing to discard.
 */
export function planRecovery(o: {
  readonly dataNodes: readonly string[];
  readonly otherHosts: readonly string[];
  readonly reports: readonly NodeReport[];
  readonly survivor: string;
}): { victims: string[] } {
  const { dataNodes, survivor } = o;
  if (!survivor) throw new RecoveryRefused("no survivor named: name the node whose data survives");
  if (!dataNodes.includes(survivor)) {
    throw new RecoveryRefused(
      `'${survivor}' is not a DRBD data node of this stack${o.otherHosts.includes(survivor) ? " (it holds no copy of the volume)" : ""}; data nodes: ${dataNodes.join(", ")}`,
    );
  }
  const byNode = new Map(o.reports.map((r) => [r.node, r]));
  for (const n of dataNodes) if (!byNode.has(n)) throw new RecoveryRefused(`no report from ${n}`);
  const s = byNode.get(survivor)!;
  if (s.role !== "Primary" && s.role !== "Secondary") throw new RecoveryRefused(`DRBD resource is not up on the survivor ${survivor} (role ${s.role}): nothing to recover from`);
  const victims: string[] = [];
  const seen: string[] = [];
  for (const v of dataNodes.filter((n) => n !== survivor)) {
    const there = s.peers[v] ?? "unknown";
    const back = byNode.get(v)!.peers[survivor] ?? "unknown";
    seen.push(`${survivor} sees ${v} ${there}, ${v} sees ${survivor} ${back}`);
    if (there === "StandAlone" || back === "StandAlone") victims.push(v);
  }
  if (victims.length === 0) throw new RecoveryRefused(`no split brain to recover: no StandAlone connection between ${survivor} and its peers (${seen.join("; ")})`);
  for (const v of victims) {
    const role = byNode.get(v)!.role;
    if (role !== "Primary" && role !== "Secondary") throw new RecoveryRefused(`DRBD resource is not up on the victim ${v} (role ${role}): bring it up (drbdadm up) before recovering`);
  }
  return { victims };
}

/** The name the operator typed for a victim: exactly that victim, nothing else. */
export function checkVictim(o: { readonly typed: string; readonly victim: string; readonly survivor: string; readonly dataNodes: readonly string[] }): void {
  const { typed, victim, survivor, dataNodes } = o;
  if (!typed) throw new RecoveryRefused(`no victim typed: type ${victim} to discard its data (there is no default)`);
  if (typed === survivor) throw new RecoveryRefused(`${typed} is the survivor: survivor and victim must be different nodes`);
  if (!dataNodes.includes(typed)) throw new RecoveryRefused(`'${typed}' is not a DRBD data node of this stack; data nodes: ${dataNodes.join(", ")}`);
  if (typed !== victim) throw new RecoveryRefused(`'${typed}' is not split from ${survivor}: the victim is ${victim}`);
}

interface Undo {
  readonly node: string;
  readonly action: string;
  readonly what: string;
}

export async function recover(o: RecoverOptions): Promise<{ reports: NodeReport[]; survivor: string; victims: string[] }> {
  const log = o.log ?? (() => undefined);
  const stack = await stackHosts(o);
  const { config } = stack;
  if (!config.drbd) throw new RecoveryRefused(`stack ${o.stackFile} has no DRBD resource: nothing to recover`);
  const d = config.drbd;
  const dataNodes = config.hosts.filter((h) => h.roles.includes("drbd")).map((h) => h.name);
  const otherHosts = config.hosts.map((h) => h.name).filter((n) => !dataNodes.includes(n));
  const sentinel = config.failover.engine === "sentinel";
  const failoverUnit = sentinel ? SENTINEL_UNIT : REACTOR_UNIT;

  /** Runs one action on a node; returns the changes it made. */
  const run = async (node: string, action: string, peer = ""): Promise<{ out: string; changes: string[] }> => {
    const vars: Record<string, ShellValue> = {
      ACTION: action,
      PEER: peer,
      PEERS: dataNodes.filter((n) => n !== node),
      FAILOVER_UNIT: failoverUnit,
      GITLAB_UNIT: config.failover.gitlabUnit,
      STATE_DB: path.posix.join(path.posix.dirname(config.failover.sentinel.execStart), "state.db"),
      DRBD_RESOURCE: d.resource,
      DEVICE: d.device,
      FILESYSTEM: d.filesystem,
      GIT_DATA: "/var/opt/gitlab/git-data",
      MOUNT_POINT: d.mountPoint,
    };
    const out = await stack.run(node, { description: `split-brain recovery: ${action}${peer ? ` (peer ${peer})` : ""}`, vars, bodies: ["components/sentinel/scripts/recover-node.sh"] });
    const changes = out.split("\n").filter((x) => x.startsWith("gitlab-ha: changed: ")).map((l) => l.slice(20));
    for (const c of changes) log(`${node}: ${c}`);
    return { out, changes };
  };
  const report = async (node: string): Promise<NodeReport> => {
    const line = (await run(node, "report")).out.split("\n").find((l) => l.startsWith("node="));
    if (!line) throw new Error(`${node}: the report printed no node= line`);
    return parseReport(line);
  };

  // 1. Read-only: every data node answers, as itself.
  const reports: NodeReport[] = [];
  for (const n of dataNodes) {
    let r: NodeReport;
    try {
      r = await report(n);
    } catch (e) {
      throw new RecoveryRefused(`cannot read the state of ${n}; nothing was changed:\n${e instanceof Error ? e.message : String(e)}`);
    }
    if (r.node !== n) throw new RecoveryRefused(`the host reached as ${n} calls itself ${r.node}: DRBD would not know it as ${n}; nothing was changed`);
    reports.push(r);
    const peers = Object.entries(r.peers).map(([p, c]) => `${p} ${c}`).join(", ");
    log(`report: ${n} role=${r.role} gi=${r.gi} mounted=${r.mounted ? "yes" : "no"} ${failoverUnit}=${r.failover} ${config.failover.gitlabUnit}=${r.gitlab} connections: ${peers || "none"}; newest git data ${r.newestGit ? new Date(r.newestGit * 1000).toISOString() : "none"}`);
  }

  // 2. The operator's choice, checked before anything changes.
  const survivor = (await o.survivor(reports, suggest(reports))).trim();
  const { victims } = planRecovery({ dataNodes, otherHosts, reports, survivor });
  for (const v of victims) checkVictim({ typed: (await o.confirmVictim(v, survivor)).trim(), victim: v, survivor, dataNodes });

  // 3. The repair. `undo` lists, in order, what this command stopped and how to restart it.
  let undo: Undo[] = [];
  const others = dataNodes.filter((n) => n !== survivor && !victims.includes(n));
  try {
    for (const n of [...victims, survivor, ...others]) {
      if ((await run(n, "stop-failover")).changes.length) undo.push({ node: n, action: "start-failover", what: `started ${failoverUnit}` });
    }
    for (const v of victims) {
      if ((await run(v, "stop-gitlab")).changes.length) undo.push({ node: v, action: "start-gitlab", what: `started ${config.failover.gitlabUnit}` });
      if ((await run(v, "unmount")).changes.length) undo.push({ node: v, action: "mount", what: `mounted ${d.mountPoint}` });
      if ((await run(v, "secondary")).changes.length) undo.push({ node: v, action: "primary", what: `promoted ${d.resource} again` });
      await run(v, "discard", survivor);
      // DRBD accepted the discard: this victim's data is being replaced, there is no way back.
      undo = undo.filter((u) => u.node !== v || u.action === "start-failover");
    }
    for (const v of victims) await run(survivor, "connect", v);
    if (sentinel) for (const n of dataNodes) await run(n, "reset");
    for (const n of [survivor, ...victims, ...others]) {
      await run(n, "start-failover");
      undo = undo.filter((u) => u.node !== n);
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log(`error: ${message}`);
    const restored: string[] = [];
    const failed: string[] = [];
    for (const u of [...undo].reverse()) {
      try {
        await run(u.node, u.action);
        restored.push(`${u.node}: ${u.what}`);
      } catch (x) {
        failed.push(`${u.node}: ${u.what} FAILED: ${x instanceof Error ? x.message : String(x)}`);
      }
    }
    throw new Error(
      [message, restored.length ? `restored what the recovery had stopped: ${restored.join("; ")}` : "nothing to restore", ...(failed.length ? [`could not restore: ${failed.join("; ")}`] : [])].join("\n"),
    );
  }
  for (const v of victims) {
    const r = await report(v);
    log(`after: ${v} role=${r.role} connection to ${survivor}: ${r.peers[survivor] ?? "unknown"}`);
  }
  log(`recovered: ${survivor} kept its data; ${victims.join(", ")} resync${victims.length > 1 ? "" : "s"} from it; ${failoverUnit} started again`);
  return { reports, survivor, victims };
}
