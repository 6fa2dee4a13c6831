// systemd units for GitLab's backups on a GitLab node (runbook section 1): the scheduled
// `gitlab-backup create` in the container, the backup of /etc/gitlab (not in GitLab's archive),
// and the copy of both to another host.
import type { GitlabConfig } from "../config/schema";

const header = "# Managed by gitlab-ha (components/backup). Local changes are overwritten on the next `pulumi up`.";

/** Programs the units run (scripts rendered by backups.ts). */
export const PROGRAMS = {
  backup: "/usr/local/sbin/gitlab-ha-backup",
  configBackup: "/usr/local/sbin/gitlab-ha-config-backup",
  offsite: "/usr/local/sbin/gitlab-ha-offsite-copy",
} as const;
/** Held by the backup while it writes an archive and by the off-site copy while it reads them. */
export const BACKUP_LOCK = "/run/lock/gitlab-ha-backup.lock";
/** The pinned host key of the off-site target, the only known_hosts file its ssh reads. */
export const OFFSITE_KNOWN_HOSTS = "/etc/gitlab-ha/offsite_known_hosts";

/** The arguments of `gitlab-backup create` (runbook: STRATEGY=copy, SKIP, DIRECTORY; cron: CRON=1). */
export function backupArgs(b: GitlabConfig["backup"]): string[] {
  return [
    "CRON=1",
    ...(b.strategy === "copy" ? ["STRATEGY=copy"] : []),
    ...(b.skip.length ? [`SKIP=${b.skip.join(",")}`] : []),
    ...(b.directory ? [`DIRECTORY=${b.directory}`] : []),
  ];
}

// Only directives systemd 239 (EL8) knows: no ExecCondition= (new in 243); the scripts decide
// themselves whether this node is the active one and exit 0 otherwise.
const oneshot = (description: string, program: string) =>
  [header, "[Unit]", `Description=${description}`, "[Service]", "Type=oneshot", `ExecStart=${program}`, ""].join("\n");

export const renderBackupService = () => oneshot("GitLab backup (gitlab-backup create) where the GitLab container runs", PROGRAMS.backup);
export const renderConfigBackupService = () => oneshot("Backup of /etc/gitlab (gitlab.rb, gitlab-secrets.json, SSH host keys, certificates)", PROGRAMS.configBackup);
export const renderOffsiteService = () => oneshot("Copy of the GitLab backup archives and config backups to another host", PROGRAMS.offsite);

export function renderTimer(description: string, onCalendar: string): string {
  return [header, "[Unit]", `Description=${description}`, "[Timer]", `OnCalendar=${onCalendar}`, "Persistent=true", "RandomizedDelaySec=5min", "[Install]", "WantedBy=timers.target", ""].join("\n");
}

/** known_hosts line of the off-site target (ssh writes a port other than 22 as [host]:port). */
export function knownHostsLine(target: string, port: number, hostKey: string): string {
  const host = /^[^@]+@([^:]+):/.exec(target)?.[1];
  if (!host) throw new Error(`not a user@host:/path target: ${target}`);
  return `${port === 22 ? host : `[${host}]:${port}`} ${hostKey}\n`;
}
