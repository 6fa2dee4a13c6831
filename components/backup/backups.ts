// Scheduled backups on a GitLab node: gitlab-backup in the container, the config files beside
// it, and (external-database mode without DRBD) the rsync of the git data to the standby site.
import * as pulumi from "@pulumi/pulumi";
import type { GitlabConfig } from "../config/schema";
import { hostCommand } from "../host/command";
import { HostFile } from "../host/file";
import { renderScript } from "../host/script";
import type { HostTarget } from "../host/target";
import { renderBackupService, renderConfigBackupService, renderRsyncService, renderTimer } from "./render";

export interface GitlabBackupsArgs {
  readonly host: HostTarget;
  readonly gitlab: GitlabConfig;
  /** The GitLab container on this node. */
  readonly container: string;
  /** Host directory under which the container's /etc/gitlab and /var/opt/gitlab live. */
  readonly volumeRoot: string;
  /** rsync applies to nodes without DRBD (the volume replicates itself otherwise). */
  readonly onDrbd: boolean;
  readonly after: readonly pulumi.Resource[];
}

export const configBackupDir = (volumeRoot: string) => `${volumeRoot}/config-backups`;

export class GitlabBackups extends pulumi.ComponentResource {
  constructor(name: string, args: GitlabBackupsArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:backup:Backups", name, {}, opts);
    const b = args.gitlab.backup;
    const file = (suffix: string, path: string, content: string, mode = "0644") =>
      new HostFile(`${name}-${suffix}`, { host: args.host, path, content, mode, owner: "root", group: "root", createDirectory: true }, { parent: this, dependsOn: [...args.after] });
    const configScript = renderScript({
      description: "archive gitlab.rb and gitlab-secrets.json",
      host: args.host.name,
      vars: { CONFIG_DIR: `${args.volumeRoot}/etc/gitlab`, BACKUP_DIR: configBackupDir(args.volumeRoot), KEEP_SECONDS: b.keepTime },
      bodies: ["components/backup/scripts/config-backup.sh"],
    });
    const files = [
      file("config-backup-script", "/usr/local/sbin/gitlab-ha-config-backup", `#!/usr/bin/env bash\n${configScript}`, "0755"),
      file("backup-service", "/etc/systemd/system/gitlab-backup.service", renderBackupService(args.container, b)),
      file("backup-timer", "/etc/systemd/system/gitlab-backup.timer", renderTimer("Scheduled GitLab backup", b.schedule)),
      file("config-service", "/etc/systemd/system/gitlab-config-backup.service", renderConfigBackupService()),
      file("config-timer", "/etc/systemd/system/gitlab-config-backup.timer", renderTimer("Scheduled backup of gitlab.rb and gitlab-secrets.json", b.schedule)),
    ];
    const timers = ["gitlab-backup.timer", "gitlab-config-backup.timer"];
    if (b.rsync && !args.onDrbd) {
      files.push(
        file("rsync-service", "/etc/systemd/system/gitlab-rsync.service", renderRsyncService(`${args.volumeRoot}/var/opt/gitlab/git-data`, b.rsync)),
        file("rsync-timer", "/etc/systemd/system/gitlab-rsync.timer", renderTimer("rsync of git data to the standby site", b.rsync.schedule)),
      );
      timers.push("gitlab-rsync.timer");
    }
    hostCommand(
      `${name}-timers`,
      {
        host: args.host,
        script: { description: `enable ${timers.join(", ")}`, vars: { TIMERS: timers }, bodies: ["components/backup/scripts/timers.sh"] },
        triggers: files.map((f) => f.contentHash),
      },
      { parent: this, dependsOn: files },
    );
    this.registerOutputs({});
  }
}
