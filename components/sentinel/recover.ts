// The split-brain recovery of runbook section 7, as a command instead of prose:
//   1. stop the sentinel on every DRBD data node;
//   2. report, per node, its DRBD role, current generation id and newest git data;
//   3. the operator chooses the node whose data survives (suggested: the newest git data);
//   4. DRBD repair: the other nodes discard their data and resync from the survivor;
//   5. remove the sentinel's state.db everywhere; 6. start the sentinels, the survivor first.
// It reaches the nodes with the stack's own SSH connections (from the evaluated program).
import * as path from "node:path";
import type { ShellValue } from "../host/script";
import { stackHosts } from "../offline/connections";
import { SENTINEL_UNIT } from "./render";

export interface NodeReport {
  readonly node: string;
  readonly role: string;
  readonly gi: string;
  readonly newestGit: number;
}

export interface RecoverOptions {
  readonly stackFile: string;
  readonly stack?: string;
  readonly overrides?: Record<string, unknown>;
  /** Chooses the surviving node from the reports (prompt, flag, or test). */
  readonly choose: (reports: readonly NodeReport[], suggested: string | undefined) => Promise<string>;
  readonly log?: (line: string) => void;
}

export function parseReport(line: string): NodeReport {
  const f = Object.fromEntries(line.trim().split(/\s+/).map((kv) => kv.split("=", 2) as [string, string]));
  if (!f.node || !f.role || !f.gi || f.newest_git === undefined) throw new Error(`unexpected report line: ${line}`);
  return { node: f.node, role: f.role, gi: f.gi, newestGit: Number(f.newest_git) };
}

/** The node with the newest git data, when one is strictly newest. */
export function suggest(reports: readonly NodeReport[]): string | undefined {
  const sorted = [...reports].sort((a, b) => b.newestGit - a.newestGit);
  return sorted.length && (sorted.length === 1 || sorted[0]!.newestGit > sorted[1]!.newestGit) ? sorted[0]!.node : undefined;
}

export async function recover(o: RecoverOptions): Promise<{ reports: NodeReport[]; survivor: string }> {
  const log = o.log ?? (() => undefined);
  const stack = await stackHosts(o);
  const { config } = stack;
  if (!config.drbd) throw new Error(`stack ${o.stackFile} has no DRBD resource: nothing to recover`);
  const d = config.drbd;
  const nodes = config.hosts.filter((h) => h.roles.includes("drbd")).map((h) => h.name);

  const run = async (node: string, action: string): Promise<string> => {
    const vars: Record<string, ShellValue> = {
      ACTION: action,
      SENTINEL_UNIT,
      STATE_DB: path.posix.join(path.posix.dirname(config.failover.sentinel.execStart), "state.db"),
      DRBD_RESOURCE: d.resource,
      GIT_DATA: "/var/opt/gitlab/git-data",
      MOUNT_POINT: d.mountPoint,
    };
    const out = await stack.run(node, { description: `split-brain recovery: ${action}`, vars, bodies: ["components/sentinel/scripts/recover-node.sh"] });
    for (const l of out.split("\n").filter((x) => x.startsWith("gitlab-ha: changed: "))) log(`${node}: ${l.slice(20)}`);
    return out;
  };

  log(`stopping ${SENTINEL_UNIT} on ${nodes.join(", ")}`);
  for (const n of nodes) await run(n, "stop");
  const reports: NodeReport[] = [];
  for (const n of nodes) reports.push(parseReport((await run(n, "report")).split("\n").find((l) => l.startsWith("node="))!));
  for (const r of reports) log(`report: ${r.node} role=${r.role} gi=${r.gi} newest git data ${r.newestGit ? new Date(r.newestGit * 1000).toISOString() : "none"}`);
  const survivor = await o.choose(reports, suggest(reports));
  if (!nodes.includes(survivor)) throw new Error(`'${survivor}' is not a DRBD data node of this stack (${nodes.join(", ")})`);

  if (d.activate) {
    for (const n of nodes.filter((x) => x !== survivor)) await run(n, "discard");
    await run(survivor, "connect");
  } else {
    log("DRBD repair skipped: drbd.activate is false (lab hosts have no DRBD kernel module)");
  }
  for (const n of nodes) await run(n, "reset");
  for (const n of [survivor, ...nodes.filter((x) => x !== survivor)]) await run(n, "start");
  log(`recovered: ${survivor} kept its data; sentinels started`);
  return { reports, survivor };
}
