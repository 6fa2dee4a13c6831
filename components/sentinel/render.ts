// Pure renderers for the failover layer: the runbook's git_sentinel unit (runbook section 6), the
// drop-in that orders GitLab after it (section 5), and the drbd-reactor promoter configuration
// that can replace the sentinel (LINBIT drbd-reactor, doc/promoter.md).
import * as path from "node:path";

/** The sentinel's unit name, as the runbook installs it. */
export const SENTINEL_UNIT = "git_sentinel.service";

const HEADER = "# Managed by gitlab-ha (components/sentinel). Local changes are overwritten on the next `pulumi up`.";

const UNIT_NAME = /^[A-Za-z0-9@._-]+\.(service|mount|target)$/;
const RESOURCE_NAME = /^[A-Za-z0-9_-]+$/;
const PLAIN_PATH = /^(\/[A-Za-z0-9._-]+)+$/;

function mountPath(p: string): string {
  if (!PLAIN_PATH.test(p) || p.split("/").some((s) => s === "." || s === "..")) {
    throw new Error(`invalid mount point ${JSON.stringify(p)}: expected an absolute path of [A-Za-z0-9._-] segments`);
  }
  return p;
}

function unitName(name: string): string {
  if (!UNIT_NAME.test(name)) throw new Error(`invalid systemd unit name ${JSON.stringify(name)}: expected ${UNIT_NAME}`);
  return name;
}

function resourceName(name: string): string {
  if (!RESOURCE_NAME.test(name)) throw new Error(`invalid DRBD resource name ${JSON.stringify(name)}: expected ${RESOURCE_NAME}`);
  return name;
}

/** An absolute path of plain characters: no spaces, quotes, `%` specifiers, `$`, `.`/`..` segments or trailing `/`. */
function executablePath(p: string): string {
  if (!PLAIN_PATH.test(p) || p.split("/").some((s) => s === "." || s === "..")) {
    throw new Error(`invalid sentinel ExecStart ${JSON.stringify(p)}: expected an absolute path of [A-Za-z0-9._-] segments`);
  }
  return p;
}

/**
 * git_sentinel.service exactly as the runbook writes it, with our Description and the sentinel's
 * directory as WorkingDirectory (it keeps its state.db there). `StartLimitInterval=` stays in
 * [Service] as the runbook has it: systemd still accepts that legacy spelling there (the tests
 * run `systemd-analyze verify` on the result).
 */
export function renderSentinelUnit(o: { readonly execStart: string }): string {
  const exec = executablePath(o.execStart);
  return [
    HEADER,
    "[Unit]",
    "Description=git_sentinel: GitLab failover sentinel",
    "Wants=network-online.target sshd.service",
    "After=network-online.target sshd.service",
    "",
    "[Service]",
    "User=root",
    `WorkingDirectory=${path.posix.dirname(exec)}`,
    `ExecStart=${exec}`,
    "ExecStop=/bin/kill -TERM ${MAINPID}",
    "Restart=always",
    "RestartSec=5s",
    "WatchdogSec=30s",
    "StartLimitInterval=10min",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * Drop-in for the GitLab unit (e.g. /etc/systemd/system/gitlab-runsvdir.service.d/): orders it
 * after the sentinel, which alone starts GitLab. The runbook edits the packaged unit instead; a
 * drop-in survives package upgrades.
 */
export function renderGitlabAfterSentinelDropIn(): string {
  return [
    "# Managed by gitlab-ha (components/sentinel): only the sentinel starts GitLab, so GitLab is ordered after it.",
    "[Unit]",
    `After=${SENTINEL_UNIT}`,
    "",
  ].join("\n");
}

/** Where GitLab's guard drop-in goes, next to the sentinel's ordering drop-in. */
export const GITLAB_GUARD_DROP_IN = "50-gitlab-ha-volume.conf";

/**
 * Drop-in for GitLab's unit, for either engine: GitLab starts only where the DRBD volume is
 * mounted. systemd.unit(5): an Assert*= that does not hold fails the start job (logged loudly)
 * without changing the unit's state (since systemd 218; EL8 has 239); unlike RequiresMountsFor=
 * it pulls nothing in, so a manual start never mounts (or tries to promote) the volume itself.
 * With drbd-reactor, whose promoter "does not do any service monitoring" (drbd-reactor
 * doc/promoter.md, "Service failure"), the unit also restarts whenever it exits, as that document
 * asks (Restart=always), within start limits so that a GitLab that keeps failing stops for good
 * and its drbd-services@ target with it, instead of looping (same doc: "StartLimitIntervalSec=
 * and StartLimitBurst="; [Unit] spelling, systemd 229 and later).
 */
export function renderGitlabGuardDropIn(o: { readonly mountPoint: string; readonly engine: "sentinel" | "drbd-reactor" }): string {
  const mount = mountPath(o.mountPoint);
  return [
    `# Managed by gitlab-ha (components/sentinel): GitLab runs only on the node where ${mount} (the DRBD volume) is mounted.`,
    "[Unit]",
    `AssertPathIsMountPoint=${mount}`,
    ...(o.engine === "drbd-reactor"
      ? ["StartLimitIntervalSec=30min", "StartLimitBurst=5", "", "[Service]", "Restart=always", "RestartSec=30s"]
      : []),
    "",
  ].join("\n");
}

/**
 * drbd-reactor promoter configuration (a file in /etc/drbd-reactor.d/) for one DRBD resource:
 * when the resource may be promoted, drbd-reactor promotes it and starts `start` in order; on
 * quorum loss it stops them in reverse order. A failed demotion reboots the node (self-fencing),
 * as in the EXAMPLES section of drbd-reactor.promoter(5).
 */
export function renderPromoterConfig(o: { readonly resource: string; readonly start: readonly string[] }): string {
  const resource = resourceName(o.resource);
  if (o.start.length === 0) throw new Error(`promoter for DRBD resource ${resource}: start must name at least one unit`);
  const seen = new Set<string>();
  for (const u of o.start) {
    unitName(u);
    if (seen.has(u)) throw new Error(`promoter for DRBD resource ${resource}: unit ${u} is listed twice in start`);
    seen.add(u);
  }
  return [
    HEADER,
    "[[promoter]]",
    `[promoter.resources.${resource}]`,
    `start = [${o.start.map((u) => `"${u}"`).join(", ")}]`,
    `on-drbd-demote-failure = "reboot"`,
    "",
  ].join("\n");
}

/** What each failover engine does on a DRBD data node, and so what the operators' sentinel must do. */
export interface FailoverContractInput {
  readonly engine: "sentinel" | "drbd-reactor";
  readonly resource: string;
  readonly device: string;
  readonly mountPoint: string;
  readonly gitlabUnit: string;
  readonly sentinelExec: string;
}

/**
 * The failover contract of a data node, written next to the sentinel (or the promoter file) so
 * that a reviewer and the sentinel's authors read the same settings: auto-promote (the runbook
 * left DRBD 9's default, yes; the resource file says no), who brings the resource up at boot
 * (drbd.service is disabled; drbd-reactor's promoter runs `drbdadm adjust` on start, drbd-reactor
 * doc/promoter.md "Adjusting resources on start"), and which unit starts GitLab.
 */
export function renderFailoverContract(c: FailoverContractInput): string {
  const r = resourceName(c.resource);
  const unit = unitName(c.gitlabUnit);
  const mount = mountPath(c.mountPoint);
  const common = [
    HEADER,
    `# Failover contract of DRBD resource ${r} on this data node (engine: ${c.engine}).`,
    `auto-promote: no (/etc/drbd.d/${r}.res). Opening or mounting ${c.device} does NOT promote; the runbook's resource had yes.`,
    `drbd.service: disabled at boot. /etc/fstab: no entry for ${c.device} or ${mount}.`,
    `GitLab's unit: ${unit} (runs the GitLab container; disabled at boot; refuses to start unless ${mount} is a mount point).`,
  ];
  const steps =
    c.engine === "sentinel"
      ? [
          `Brings ${r} up at boot: ${SENTINEL_UNIT} (${c.sentinelExec}), nothing else on data nodes: run \`drbdadm adjust ${r}\` when it starts.`,
          `Starts, on the node it elects, in this order: \`drbdadm primary ${r}\`, \`mount ${c.device} ${mount}\`, \`systemctl start ${unit}\`.`,
          `Stops, in reverse order: \`systemctl stop ${unit}\`, \`umount ${mount}\`, \`drbdadm secondary ${r}\`.`,
          `Starts GitLab only through ${unit} (not the runbook's gitlab-runsvdir: GitLab runs in a container), never with \`primary --force\`.`,
        ]
      : [
          `Brings ${r} up at boot: drbd-reactor.service (enabled), its promoter runs \`drbdadm adjust ${r}\` on start.`,
          `Starts, on the node that may promote: promotes ${r}, then ${mountUnitOf(mount)} and ${unit} (/etc/drbd-reactor.d/gitlab-ha.toml).`,
          `Stops them in reverse order on demotion or quorum loss; a failed demotion reboots the node.`,
          `No sentinel runs: ${SENTINEL_UNIT} must not be installed.`,
        ];
  return [...common, ...steps, ""].join("\n");
}

/** systemd's name for the mount unit of a path (systemd-escape --path for plain paths). */
export function mountUnitOf(path: string): string {
  return `${path.replace(/^\/+|\/+$/g, "").replace(/-/g, "\\x2d").replace(/\//g, "-") || "-"}.mount`;
}
