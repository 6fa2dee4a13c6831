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

/** A split-brain policy that calls the pri-lost-after-sb handler (drbd.conf: it must be defined). */
const callsPriLost = (d: DrbdConfig) => d.net.afterSb1pri === "call-pri-lost-after-sb" || d.net.afterSb2pri === "call-pri-lost-after-sb";

/**
 * /etc/drbd.d/global_common.conf: the runbook's global and common sections, with three options
 * changed after review (LINBIT DRBD 9 user guide, "Configuring I/O error handling strategies",
 * "Configuring replication traffic integrity checking", "Automatic split brain recovery policies").
 */
export function renderGlobalCommon(d: DrbdConfig): string {
  return [
    "# Managed by gitlab-ha (components/drbd). Local changes are overwritten on the next `pulumi up`.",
    "global {",
    "  usage-count no;",
    "}",
    "common {",
    // UG9: after-sb-1pri call-pri-lost-after-sb "invokes the pri-lost-after-sb handler on the
    // victim", which "must be configured in the handlers section": defined only when chosen,
    // with drbd-utils' own example (scripts/global_common.conf): notify, then reboot the node.
    ...(callsPriLost(d)
      ? [
          "  handlers {",
          '    pri-lost-after-sb "/usr/lib/drbd/notify-pri-lost-after-sb.sh; /usr/lib/drbd/notify-emergency-reboot.sh; echo b > /proc/sysrq-trigger ; reboot -f";',
          "  }",
        ]
      : []),
    "  net {",
    `    protocol ${d.net.protocol};`,
    `    transport "${d.net.transport}";`,
    `    verify-alg ${d.net.verifyAlg};`,
    `    csums-alg ${d.net.csumsAlg};`,
    // UG9: data-integrity-alg "is not intended for production use" (a diagnostic for corrupting
    // network paths, checksumming every write): written only when drbd.net.dataIntegrityAlg asks.
    ...(d.net.dataIntegrityAlg ? [`    data-integrity-alg ${d.net.dataIntegrityAlg};`] : []),
    `    after-sb-0pri ${d.net.afterSb0pri};`,
    // Default consensus (drbd_receiver.c drbd_asb_recover_1p): resolve only when the after-sb-0pri
    // policy makes the Secondary the victim, else disconnect; never needs a handler, never discards
    // the Primary's writes. Quorum, not these policies, is what prevents the split brain.
    `    after-sb-1pri ${d.net.afterSb1pri};`,
    `    after-sb-2pri ${d.net.afterSb2pri};`,
    "  }",
    "  disk {",
    `    c-plan-ahead ${d.disk.cPlanAhead};`,
    `    c-max-rate ${d.disk.cMaxRate};`,
    `    c-fill-target ${d.disk.cFillTarget};`,
    // UG9: detach is "the default and recommended option": a failing disk is dropped and the node
    // serves I/O from its peers, instead of the runbook's pass_on retrying on it.
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

/** The unit that keeps the resource up on a diskless tiebreaker. */
export const tiebreakerUnit = (resource: string) => `drbd-tiebreaker-${resource}.service`;

/**
 * The tiebreaker's unit: loads the module and brings the resource up diskless at every boot. The
 * kernel counts a diskless peer towards quorum only once it has connected (drbd_state.c
 * __calc_quorum_with_disk: "a fresh (before connected once), intentional diskless peer gets
 * ignored"), so the vote exists only while this runs. `adjust` brings a down resource up and
 * is what drbd-utils' own drbd@.service runs. Bare command names: systemd >= 239 resolves them
 * (NEWS 239), which covers /sbin and /usr/sbin layouts alike.
 */
export function renderTiebreakerUnit(resource: string): string {
  return [
    "# Managed by gitlab-ha (components/drbd). Local changes are overwritten on the next `pulumi up`.",
    "[Unit]",
    `Description=DRBD resource ${resource} up diskless: this node's quorum vote`,
    "Wants=network-online.target",
    "After=network-online.target nss-lookup.target",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    "ExecStartPre=modprobe drbd",
    `ExecStart=drbdadm adjust ${resource}`,
    `ExecReload=drbdadm adjust ${resource}`,
    `ExecStop=drbdadm down ${resource}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}
