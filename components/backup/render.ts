// systemd units for GitLab's backups on a GitLab node (runbook section 1): the scheduled
// `gitlab-backup create` in the container, the separate backup of gitlab.rb and
// gitlab-secrets.json (not in GitLab's archive), and the rsync of the git data to the standby site.
import type { GitlabConfig } from "../config/schema";

const header = "# Managed by gitlab-ha (components/backup). Local changes are overwritten on the next `pulumi up`.";

/** The `gitlab-backup create` command line the unit runs (runbook: STRATEGY=copy, SKIP, DIRECTORY). */
export function backupCommand(container: string, b: GitlabConfig["backup"]): string {
  return [
    `/usr/bin/docker exec ${container} gitlab-backup create`,
    ...(b.strategy === "copy" ? ["STRATEGY=copy"] : []),
    ...(b.skip.length ? [`SKIP=${b.skip.join(",")}`] : []),
    ...(b.directory ? [`DIRECTORY=${b.directory}`] : []),
  ].join(" ");
}

export function renderBackupService(container: string, b: GitlabConfig["backup"]): string {
  return [
    header,
    "[Unit]",
    "Description=GitLab backup (gitlab-backup create) where the GitLab container runs",
    "[Service]",
    "Type=oneshot",
    // Only the node whose container runs (the DRBD primary) backs up; the others skip quietly.
    `ExecCondition=/bin/sh -c "/usr/bin/docker inspect -f '{{.State.Running}}' ${container} 2>/dev/null | grep -qx true"`,
    `ExecStart=${backupCommand(container, b)}`,
    "",
  ].join("\n");
}

export function renderConfigBackupService(): string {
  return [
    header,
    "[Unit]",
    "Description=Backup of gitlab.rb and gitlab-secrets.json (not part of GitLab's own archive)",
    "[Service]",
    "Type=oneshot",
    "ExecStart=/usr/local/sbin/gitlab-ha-config-backup",
    "",
  ].join("\n");
}

export function renderRsyncService(source: string, r: NonNullable<GitlabConfig["backup"]["rsync"]>): string {
  return [
    header,
    "[Unit]",
    "Description=rsync of GitLab's git data to the standby site",
    "[Service]",
    "Type=oneshot",
    `ExecStart=/usr/bin/rsync -a --delete -e "ssh -i ${r.sshKeyFile} -o BatchMode=yes" ${source}/ ${r.target}/`,
    "",
  ].join("\n");
}

export function renderTimer(description: string, onCalendar: string): string {
  return [header, "[Unit]", `Description=${description}`, "[Timer]", `OnCalendar=${onCalendar}`, "Persistent=true", "RandomizedDelaySec=5min", "[Install]", "WantedBy=timers.target", ""].join("\n");
}
