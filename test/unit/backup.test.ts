// Backups: the units (checked by systemd-analyze), the config backup script run for real in a
// temporary directory, and the restore guard run against a stand-in `docker` command.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { gitlabSchema } from "../../components/config/schema";
import { backupArgs, PROGRAMS, renderBackupService, renderConfigBackupService, renderTimer } from "../../components/backup/render";
import { renderScript } from "../../components/host/script";
import { byName, evaluateStack, shellcheck } from "../helpers";

const backup = gitlabSchema.parse({ backup: { skip: ["registry", "artifacts"], directory: "daily" } }).backup;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "backup-"));

describe("backup units", () => {
  it("run gitlab-backup create with the runbook's options", () => {
    assert.deepEqual(backupArgs(backup), ["CRON=1", "STRATEGY=copy", "SKIP=registry,artifacts", "DIRECTORY=daily"]);
    assert.match(renderBackupService(), /^ExecStart=\/usr\/local\/sbin\/gitlab-ha-backup$/m);
  });

  it("pass systemd-analyze verify", () => {
    const dir = tmp();
    const files = {
      "gitlab-backup.service": renderBackupService().replace(PROGRAMS.backup, "/bin/true"),
      "gitlab-backup.timer": renderTimer("t", backup.schedule),
      "gitlab-config-backup.service": renderConfigBackupService().replace(PROGRAMS.configBackup, "/bin/true"),
      "gitlab-config-backup.timer": renderTimer("t", backup.schedule),
    };
    for (const [n, c] of Object.entries(files)) fs.writeFileSync(path.join(dir, n), c);
    const r = spawnSync("systemd-analyze", ["verify", "--man=no", ...Object.keys(files).map((n) => path.join(dir, n))], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), "");
  });

  it("are placed on every GitLab node, with a copy to another host only when configured", async () => {
    const prod = await evaluateStack("prod");
    assert.match(String(byName(prod, "backup-10-228-130-58-backup-timer").display.content), /^OnCalendar=\*-\*-\* 02:00:00$/m);
    assert.match(String(byName(prod, "backup-10-228-130-58-timers").display.create), /TIMERS=\(gitlab-backup\.timer gitlab-config-backup\.timer gitlab-rsync\.timer\)/, "prod copies to the standby site");
    const gitlab = { version: "18.5.2", edition: "ee", externalUrl: "https://gitlab.example.com" };
    const e = await evaluateStack("prod", { overrides: { gitlab } });
    assert.ok(!e.resources.some((r) => r.name.includes("rsync")), "no gitlab.backup.rsync: no copy");
    assert.match(String(byName(e, "backup-10-228-130-58-timers").display.create), /TIMERS=\(gitlab-backup\.timer gitlab-config-backup\.timer\)/);
  });
});

describe("copy to the standby site", () => {
  it("is rendered for GitLab nodes, with the configured key, pinned host key and target", async () => {
    const e = await evaluateStack("lab", {
      overrides: {
        hosts: [
          { name: "pgsql", roles: ["postgres-primary"] },
          { name: "gl", roles: ["gitlab"] },
        ],
        drbd: {},
        gitlab: { version: "17.11.7", externalUrl: "http://gitlab.lab.test", image: "x/stand-in", volumeRoot: "/srv/gitlab", backup: { rsync: { target: "backup@10.228.130.61:/srv/git-data", sshKeyFile: "/root/.ssh/id_rsync", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBv4" } } },
      },
    });
    assert.match(String(byName(e, "backup-gl-rsync-service").display.content), /^ExecStart=\/usr\/local\/sbin\/gitlab-ha-offsite-copy$/m);
    const script = String(byName(e, "backup-gl-offsite-script").display.content);
    assert.match(script, /^ARCHIVE_DIR=\/srv\/gitlab\/var\/opt\/gitlab\/backups$/m);
    assert.match(script, /^TARGET=backup@10\.228\.130\.61:\/srv\/git-data$/m);
    assert.match(script, /^SSH_KEY=\/root\/\.ssh\/id_rsync$/m);
    assert.equal(String(byName(e, "backup-gl-offsite-known-hosts").display.content), "10.228.130.61 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBv4\n");
    assert.match(String(byName(e, "backup-gl-rsync-timer").display.content), /^OnCalendar=\*-\*-\* 04:00:00$/m);
  });
});

describe("config backup script", () => {
  it("archives all of /etc/gitlab with 0600 and drops archives past retention", () => {
    const dir = tmp();
    const config = path.join(dir, "etc");
    const out = path.join(dir, "backups");
    fs.mkdirSync(config);
    fs.writeFileSync(path.join(config, "gitlab.rb"), "external_url 'x'\n");
    fs.writeFileSync(path.join(config, "gitlab-secrets.json"), "{}\n");
    fs.mkdirSync(out);
    const old = path.join(out, "gitlab-config-1000.tar");
    fs.writeFileSync(old, "old");
    const past = new Date(Date.now() - 8 * 86400 * 1000);
    fs.utimesSync(old, past, past);
    const script = renderScript({ description: "t", host: "h", vars: { CONFIG_DIR: config, BACKUP_DIR: out, KEEP_SECONDS: 604800 }, bodies: ["components/backup/scripts/config-backup.sh"] });
    assert.equal(shellcheck(script), "");
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /deleted \(older than retention\) .*gitlab-config-1000\.tar/);
    const archives = fs.readdirSync(out);
    assert.equal(archives.length, 1);
    assert.equal((fs.statSync(path.join(out, archives[0]!)).mode & 0o777).toString(8), "600");
    const list = spawnSync("tar", ["-tf", path.join(out, archives[0]!)], { encoding: "utf8" }).stdout.trim().split("\n").sort();
    assert.deepEqual(list, ["./", "./gitlab-secrets.json", "./gitlab.rb"]);
  });
});

describe("restore", () => {
  const restore = (backupId: string, running: string) => {
    const bin = tmp();
    const log = path.join(bin, "calls");
    // Stand-in docker: answers the version probe, records every other call.
    fs.writeFileSync(
      path.join(bin, "docker"),
      `#!/bin/sh\nif [ "$3" = cat ]; then echo ${running}; exit 0; fi\necho "$*" >> ${log}\n`,
      { mode: 0o755 },
    );
    const script = renderScript({ description: "t", host: "h", vars: { CONTAINER: "gitlab", BACKUP_ID: backupId, BACKUP_PATH: "/var/opt/gitlab/backups" }, bodies: ["components/backup/scripts/restore.sh"] });
    assert.equal(shellcheck(script), "");
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    return { ...r, calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [] };
  };

  it("refuses an archive of another GitLab version and touches nothing", () => {
    const r = restore("1732500000_2024_11_25_17.8.7-ee", "17.11.7-ee");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /made by GitLab 17\.8\.7-ee \(EE\) but 17\.11\.7-ee \(EE\) runs here: install exactly 17\.8\.7-ee first/);
    assert.deepEqual(r.calls, []);
  });

  it("restores an archive of the running version in the runbook's order", () => {
    const r = restore("1732500000_2024_11_25_17.11.7_gitlab_backup.tar", "17.11.7");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, [
      "exec gitlab test -f /var/opt/gitlab/backups/1732500000_2024_11_25_17.11.7_gitlab_backup.tar",
      "exec gitlab gitlab-ctl stop puma",
      "exec gitlab gitlab-ctl stop sidekiq",
      "exec gitlab gitlab-backup restore BACKUP=1732500000_2024_11_25_17.11.7 force=yes",
      "exec gitlab gitlab-ctl reconfigure",
      "exec gitlab gitlab-ctl restart",
      "exec gitlab gitlab-rake gitlab:check SANITIZE=true",
    ]);
  });

  it("rejects what is not a backup id", () => {
    assert.match(restore("latest", "17.11.7").stderr, /'latest' is not a GitLab backup id/);
  });
});
