// Scheduled backups on a GitLab node: gitlab-backup in the container, the archive of /etc/gitlab
// beside it (off the DRBD volume), and, when configured, the copy of both to another host.
import * as pulumi from "@pulumi/pulumi";
import type { GitlabConfig } from "../config/schema";
import { hostCommand } from "../host/command";
import { HostFile } from "../host/file";
import { renderScript } from "../host/script";
import type { HostTarget } from "../host/target";
import {
  BACKUP_LOCK,
  backupArgs,
  knownHostsLine,
  OFFSITE_KNOWN_HOSTS,
  PROGRAMS,
  renderBackupService,
  renderConfigBackupService,
  renderOffsiteService,
  renderTimer,
} from "./render";

export interface GitlabBackupsArgs {
  readonly host: HostTarget;
  readonly gitlab: GitlabConfig;
  /** The GitLab container on this node. */
  readonly container: string;
  /** Host directory under which the container's /etc/gitlab and /var/opt/gitlab live. */
  readonly volumeRoot: string;
  /** The node is a DRBD node (its volume root is on the replicated volume). */
  readonly onDrbd: boolean;
  readonly after: readonly pulumi.Resource[];
}

/** Host directory of GitLab's archives: backup.path is inside the container's /var/opt/gitlab volume. */
export const archiveDir = (volumeRoot: string, b: GitlabConfig["backup"]) => `${volumeRoot}${b.path}`;

export class GitlabBackups extends pulumi.ComponentResource {
  constructor(name: string, args: GitlabBackupsArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:backup:Backups", name, {}, opts);
    const b = args.gitlab.backup;
    const file = (suffix: string, path: string, content: string, mode = "0644") =>
      new HostFile(`${name}-${suffix}`, { host: args.host, path, content, mode, owner: "root", group: "root", createDirectory: true }, { parent: this, dependsOn: [...args.after] });
    const program = (description: string, vars: Record<string, string | number | string[]>, body: string) =>
      `#!/usr/bin/env bash\n${renderScript({ description, host: args.host.name, vars, bodies: [`components/backup/scripts/${body}`] })}`;

    const files = [
      file("backup-script", PROGRAMS.backup, program("gitlab-backup create where the container runs", { CONTAINER: args.container, LOCK: BACKUP_LOCK, BACKUP_ARGS: backupArgs(b) }, "backup.sh"), "0755"),
      file(
        "config-backup-script",
        PROGRAMS.configBackup,
        program("archive /etc/gitlab", { CONFIG_DIR: `${args.volumeRoot}/etc/gitlab`, BACKUP_DIR: b.configDirectory, KEEP_SECONDS: b.keepTime }, "config-backup.sh"),
        "0755",
      ),
      file("backup-service", "/etc/systemd/system/gitlab-backup.service", renderBackupService()),
      file("backup-timer", "/etc/systemd/system/gitlab-backup.timer", renderTimer("Scheduled GitLab backup", b.schedule)),
      file("config-service", "/etc/systemd/system/gitlab-config-backup.service", renderConfigBackupService()),
      file("config-timer", "/etc/systemd/system/gitlab-config-backup.timer", renderTimer("Scheduled backup of /etc/gitlab", b.schedule)),
    ];
    const timers = ["gitlab-backup.timer", "gitlab-config-backup.timer"];
    const r = b.rsync;
    if (r) {
      const vars = {
        LOCK: BACKUP_LOCK,
        ARCHIVE_DIR: archiveDir(args.volumeRoot, b),
        CONFIG_BACKUP_DIR: b.configDirectory,
        TARGET: r.target,
        NODE: args.host.name,
        SSH_KEY: r.sshKeyFile,
        SSH_PORT: r.port,
        KNOWN_HOSTS: OFFSITE_KNOWN_HOSTS,
      };
      files.push(
        file("offsite-known-hosts", OFFSITE_KNOWN_HOSTS, knownHostsLine(r.target, r.port, r.hostKey)),
        file("offsite-script", PROGRAMS.offsite, program("copy the backups to another host", vars, "offsite.sh"), "0755"),
        file("rsync-service", "/etc/systemd/system/gitlab-rsync.service", renderOffsiteService()),
        file("rsync-timer", "/etc/systemd/system/gitlab-rsync.timer", renderTimer("Copy of the GitLab backups to another host", r.schedule)),
      );
      timers.push("gitlab-rsync.timer");
    }
    hostCommand(
      `${name}-timers`,
      {
        host: args.host,
        script: {
          description: `enable ${timers.join(", ")}`,
          vars: { TIMERS: timers, OS_FAMILY: args.host.family, PACKAGES: r ? ["rsync"] : [] },
          bodies: ["components/backup/scripts/timers.sh"],
        },
        triggers: files.map((f) => f.contentHash),
      },
      { parent: this, dependsOn: files },
    );
    this.registerOutputs({});
  }
}
