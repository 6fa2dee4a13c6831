// Pure renderers for DRBD 9: global_common.conf with the runbook's options and the resource file
// with every node, quorum and the options drbd-reactor's promoter requires.
import type { DrbdConfig } from "../config/schema";
import { SPLIT_BRAIN_ACK } from "../policy/pack/checks";

export interface DrbdNode {
  /** Host name: DRBD matches it against the node's hostname (`uname -n`). */
  readonly name: string;
  readonly address: string;
  readonly nodeId: number;
  /** Backing disk; absent for a diskless tiebreaker. */
  readonly disk?: string;
}

const yesNo = (b: boolean) => (b ? "yes" : "no");

/** /etc/drbd.d/global_common.conf: the runbook's global and common sections. */
export function renderGlobalCommon(d: DrbdConfig): string {
  return [
    "# Managed by gitlab-ha (components/drbd). Local changes are overwritten on the next `pulumi up`.",
    "global {",
    "  usage-count no;",
    "}",
    "common {",
    "  net {",
    `    protocol ${d.net.protocol};`,
    `    transport "${d.net.transport}";`,
    `    verify-alg ${d.net.verifyAlg};`,
    `    csums-alg ${d.net.csumsAlg};`,
    `    data-integrity-alg ${d.net.dataIntegrityAlg};`,
    `    after-sb-0pri ${d.net.afterSb0pri};`,
    `    after-sb-1pri ${d.net.afterSb1pri};`,
    `    after-sb-2pri ${d.net.afterSb2pri};`,
    "  }",
    "  disk {",
    `    c-plan-ahead ${d.disk.cPlanAhead};`,
    `    c-max-rate ${d.disk.cMaxRate};`,
    `    c-fill-target ${d.disk.cFillTarget};`,
    `    on-io-error ${d.disk.onIoError};`,
    `    disk-flushes ${yesNo(d.disk.diskFlushes)};`,
    `    md-flushes ${yesNo(d.disk.mdFlushes)};`,
    "  }",
    "}",
    "",
  ].join("\n");
}

export const minorOf = (device: string) => Number(/(\d+)$/.exec(device)![1]);

/**
 * /etc/drbd.d/<resource>.res. With quorum, a node that loses the majority stops writing
 * (on-no-quorum io-error) and a primary that became outdated while suspended steps down: the two
 * sides of a partition cannot both write. auto-promote is off: the failover engine promotes.
 */
export function renderResource(d: DrbdConfig, nodes: readonly DrbdNode[]): string {
  const sorted = [...nodes].sort((a, b) => a.nodeId - b.nodeId);
  const options =
    d.quorum === "majority"
      ? ["  options {", "    auto-promote no;", "    quorum majority;", "    on-no-quorum io-error;", "    on-no-data-accessible io-error;", "    on-suspended-primary-outdated force-secondary;", "  }"]
      : ["  options {", "    auto-promote no;", "  }"];
  const on = sorted.flatMap((n) => [
    `  on ${n.name} {`,
    `    node-id ${n.nodeId};`,
    `    address ${n.address}:${d.port};`,
    "    volume 0 {",
    `      device minor ${minorOf(d.device)};`,
    `      disk ${n.disk ?? "none"};`,
    ...(n.disk ? ["      meta-disk internal;"] : []),
    "    }",
    "  }",
  ]);
  return [
    "# Managed by gitlab-ha (components/drbd). Local changes are overwritten on the next `pulumi up`.",
    ...(d.acknowledgeSplitBrainRisk ? [`${SPLIT_BRAIN_ACK} ${d.acknowledgeSplitBrainRisk.replace(/\s+/g, " ")}`] : []),
    `resource ${d.resource} {`,
    ...options,
    ...on,
    "  connection-mesh {",
    `    hosts ${sorted.map((n) => n.name).join(" ")};`,
    "  }",
    "}",
    "",
  ].join("\n");
}
