// Backups that keep what they must and copy only what is consistent: retention (keepTime 0 keeps
// everything, the newest archive always stays), all of /etc/gitlab off the DRBD volume, the
// active-node check without ExecCondition= (systemd 239), CRON=1, 0600 archives, the restore's
// exact version and edition, and the copy to another host with real rsync over a real sshd on
// loopback whose host key is pinned.
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError, validateConfig } from "../../components/config/load";
import type { ConfigIssue } from "../../components/config/rules";
import { gitlabSchema } from "../../components/config/schema";
import { BACKUP_LOCK, knownHostsLine, PROGRAMS, renderBackupService, renderConfigBackupService, renderOffsiteService, renderTimer } from "../../components/backup/render";
import { renderScript } from "../../components/host/script";
import { byName, evaluateStack, shellcheck } from "../helpers";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "backup-safety-"));
const script = (body: string, vars: Record<string, string | number | string[]>) => {
  const s = renderScript({ description: "t", host: "h", vars, bodies: [`components/backup/scripts/${body}`] });
  assert.equal(shellcheck(s), "", body);
  return s;
};
const bash = (s: string, env: Record<string, string> = {}) => spawnSync("bash", ["-c", s], { encoding: "utf8", env: { ...process.env, ...env } });

describe("config backups: retention", () => {
  /** A config directory as the GitLab container leaves it, and a backup directory with archives of the given epochs. */
  function setup(epochs: number[]) {
    const dir = tmp();
    const config = path.join(dir, "volume", "etc", "gitlab");
    fs.mkdirSync(path.join(config, "ssl"), { recursive: true });
    fs.mkdirSync(path.join(config, "trusted-certs"));
    fs.mkdirSync(path.join(config, "config_backup"));
    for (const f of ["gitlab.rb", "gitlab-secrets.json", "ssh_host_ed25519_key", "ssh_host_ed25519_key.pub", "ssl/gitlab.example.com.key", "trusted-certs/ca.crt", "config_backup/gitlab_config_1_2024_01_01.tar"]) {
      fs.writeFileSync(path.join(config, f), `${f}\n`);
    }
    const out = path.join(dir, "local-disk", "config");
    fs.mkdirSync(out, { recursive: true });
    for (const e of epochs) fs.writeFileSync(path.join(out, `gitlab-config-${e}.tar`), "old");
    return { dir, config, out };
  }
  const run = (config: string, out: string, keep: number, env: Record<string, string> = {}) => {
    const r = bash(script("config-backup.sh", { CONFIG_DIR: config, BACKUP_DIR: out, KEEP_SECONDS: keep }), env);
    assert.equal(r.status, 0, r.stderr);
    return { ...r, left: fs.readdirSync(out).sort() };
  };
  const day = 86400;
  const now = () => Math.floor(Date.now() / 1000);

  it("keepTime 0 keeps every archive, as GitLab's backup_keep_time 0 does", () => {
    const { config, out } = setup([1000, now() - 400 * day, now() - 8 * day]);
    const r = run(config, out, 0);
    assert.equal(r.left.length, 4, r.left.join(" "));
    assert.doesNotMatch(r.stdout, /deleted/);
  });

  it("a retention under a minute keeps the archive it has just written", () => {
    const { config, out } = setup([]);
    const r = run(config, out, 30);
    assert.equal(r.left.length, 1, `the new archive was deleted: ${r.stdout}`);
  });

  it("deletes archives past retention but never the newest one", () => {
    const t = now();
    const { config, out } = setup([t - 30 * day, t - 9 * day, t - 2 * day]);
    const r = run(config, out, 7 * day);
    assert.equal(r.left.length, 2, r.left.join(" "));
    assert.ok(r.left.includes(`gitlab-config-${t - 2 * day}.tar`), r.left.join(" "));

    // A clock that jumped ahead: everything is past retention, and the newest archive still stays.
    const bin = tmp();
    const future = now() + 1000 * day;
    fs.writeFileSync(path.join(bin, "date"), `#!/bin/sh\necho ${future}\n`, { mode: 0o755 });
    const { config: c2, out: o2 } = setup([now() - 3 * day, now() - 1 * day]);
    const r2 = run(c2, o2, 7 * day, { PATH: `${bin}:${process.env.PATH}` });
    assert.deepEqual(r2.left, [`gitlab-config-${future}.tar`]);
  });

  it("archives all of /etc/gitlab (secrets, SSH host keys, ssl/, trusted-certs/) as 0600 in a 0700 directory", () => {
    const { config, out } = setup([]);
    fs.chmodSync(out, 0o755);
    const r = run(config, out, 0);
    const archive = path.join(out, r.left[0]!);
    assert.equal((fs.statSync(archive).mode & 0o777).toString(8), "600");
    assert.equal((fs.statSync(out).mode & 0o777).toString(8), "700");
    const list = spawnSync("tar", ["-tf", archive], { encoding: "utf8" }).stdout.trim().split("\n").sort();
    for (const f of ["./gitlab-secrets.json", "./gitlab.rb", "./ssh_host_ed25519_key", "./ssh_host_ed25519_key.pub", "./ssl/gitlab.example.com.key", "./trusted-certs/ca.crt"]) {
      assert.ok(list.includes(f), `${f} missing from ${list.join(" ")}`);
    }
    assert.ok(!list.some((f) => f.includes("config_backup/")), "gitlab-ctl backup-etc archives are not archived again");
    assert.ok(!r.left.some((f) => f.endsWith(".partial")));
  });
});

describe("config backups are written off the DRBD volume", () => {
  it("the default directory is on the node's own disk, for every GitLab node", async () => {
    const e = await evaluateStack("prod");
    const s = String(byName(e, "backup-10-228-130-58-config-backup-script").display.content);
    assert.match(s, /^BACKUP_DIR=\/var\/backups\/gitlab-ha\/config$/m);
    assert.match(s, /^CONFIG_DIR=\/vdb\/gitlab\/etc\/gitlab$/m);
  });
});

describe("gitlab-backup on the active node", () => {
  /** Stand-in docker: `inspect` reports the container state; `exec` records the call and, for gitlab-backup create, writes an archive. */
  function standIn(running: boolean) {
    const dir = tmp();
    const archives = path.join(dir, "backups");
    fs.mkdirSync(archives);
    fs.writeFileSync(
      path.join(dir, "docker"),
      [
        "#!/bin/sh",
        `if [ "$1" = inspect ]; then echo ${running}; exit 0; fi`,
        `echo "$*" >> ${dir}/calls`,
        `if [ "$3" = gitlab-backup ] && [ "$4" = create ]; then n=$(ls ${archives} | wc -l); : > "${archives}/$((1700000000 + n))_2024_11_25_17.11.7_gitlab_backup.tar"; fi`,
      ].join("\n") + "\n",
      { mode: 0o755 },
    );
    const calls = () => (fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : []);
    return { dir, archives, calls };
  }
  const backup = gitlabSchema.parse({ backup: { skip: ["registry"] } }).backup;
  const run = (dir: string) =>
    bash(script("backup.sh", { CONTAINER: "gitlab", LOCK: path.join(dir, "lock"), BACKUP_ARGS: ["CRON=1", "STRATEGY=copy", `SKIP=${backup.skip.join(",")}`] }), { PATH: `${dir}:${process.env.PATH}` });

  it("runs gitlab-backup create with CRON=1 where the container runs, and deletes no archive", () => {
    const s = standIn(true);
    for (let i = 0; i < 3; i++) assert.equal(run(s.dir).status, 0);
    assert.deepEqual(s.calls(), Array(3).fill("exec gitlab gitlab-backup create CRON=1 STRATEGY=copy SKIP=registry"));
    assert.equal(fs.readdirSync(s.archives).length, 3);
  });

  it("exits 0 without running anything where the container does not run", () => {
    const s = standIn(false);
    const r = run(s.dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /not the active node, nothing to do/);
    assert.deepEqual(s.calls(), []);
  });

  it("archives are 0600 by default (GitLab's own default)", () => {
    assert.equal(gitlabSchema.parse({}).backup.archivePermissions, "0600");
  });
});

describe("backup units", () => {
  const units = {
    "gitlab-backup.service": renderBackupService(),
    "gitlab-config-backup.service": renderConfigBackupService(),
    "gitlab-rsync.service": renderOffsiteService(),
    "gitlab-backup.timer": renderTimer("t", "*-*-* 02:00:00"),
  };
  // Directives of systemd 239 (EL8) that the units may use; ExecCondition= came with 243 (NEWS).
  const SYSTEMD_239 = new Set(["Description", "Type", "ExecStart", "ExecStartPre", "After", "Wants", "OnCalendar", "Persistent", "RandomizedDelaySec", "WantedBy"]);

  it("use only directives systemd 239 knows (no ExecCondition=)", () => {
    for (const [name, text] of Object.entries(units)) {
      for (const line of text.split("\n")) {
        const m = /^([A-Za-z]+)=/.exec(line);
        if (m) assert.ok(SYSTEMD_239.has(m[1]!), `${name}: ${m[1]}= is not in systemd 239`);
      }
    }
  });

  it("pass systemd-analyze verify with their programs in place", () => {
    const dir = tmp();
    const files = Object.entries(units).map(([n, c]) => {
      let text = c;
      for (const p of Object.values(PROGRAMS)) {
        const local = path.join(dir, path.basename(p));
        fs.writeFileSync(local, "#!/bin/sh\n", { mode: 0o755 });
        text = text.replace(p, local);
      }
      fs.writeFileSync(path.join(dir, n), text);
      return path.join(dir, n);
    });
    const r = spawnSync("systemd-analyze", ["verify", "--man=no", ...files], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), "");
  });
});

describe("restore: exactly the same version and edition", () => {
  const restore = (backupId: string, running: string) => {
    const bin = tmp();
    const log = path.join(bin, "calls");
    fs.writeFileSync(path.join(bin, "docker"), `#!/bin/sh\nif [ "$3" = cat ]; then echo ${running}; exit 0; fi\necho "$*" >> ${log}\n`, { mode: 0o755 });
    const r = bash(script("restore.sh", { CONTAINER: "gitlab", BACKUP_ID: backupId, BACKUP_PATH: "/var/opt/gitlab/backups" }), { PATH: `${bin}:${process.env.PATH}` });
    return { ...r, calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [] };
  };

  it("refuses a CE archive on an EE node and an EE archive on a CE node, touching nothing", () => {
    const ceOnEe = restore("1732500000_2024_11_25_17.11.7", "17.11.7-ee");
    assert.notEqual(ceOnEe.status, 0);
    assert.match(ceOnEe.stderr, /made by GitLab 17\.11\.7 \(CE\) but 17\.11\.7-ee \(EE\) runs here/);
    assert.deepEqual(ceOnEe.calls, []);
    const eeOnCe = restore("1732500000_2024_11_25_17.11.7-ee_gitlab_backup.tar", "17.11.7");
    assert.notEqual(eeOnCe.status, 0);
    assert.match(eeOnCe.stderr, /made by GitLab 17\.11\.7-ee \(EE\) but 17\.11\.7 \(CE\) runs here/);
    assert.deepEqual(eeOnCe.calls, []);
  });

  it("restores when version and edition match exactly", () => {
    const r = restore("1732500000_2024_11_25_18.5.2-ee", "18.5.2-ee");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.calls[0], "exec gitlab test -f /var/opt/gitlab/backups/1732500000_2024_11_25_18.5.2-ee_gitlab_backup.tar");
  });
});

describe("backup config rules", () => {
  const base = (gitlab: Record<string, unknown>, drbd = true): Record<string, unknown> => ({
    hosts: [
      { name: "db1", address: "10.0.0.1", roles: ["postgres-primary"] },
      { name: "gl1", address: "10.0.0.3", roles: drbd ? ["gitlab", "drbd"] : ["gitlab"], ...(drbd ? { drbd: { nodeId: 0, disk: "/dev/vdb1" } } : {}) },
    ],
    ssh: { agent: true },
    firewall: { adminNetworks: ["10.0.0.0/8"] },
    ...(drbd ? { drbd: { initialPrimary: "gl1" } } : {}),
    gitlab: { version: "17.11.7", externalUrl: "https://gitlab.example.com", ...gitlab },
  });
  const issuesOf = (values: Record<string, unknown>): ConfigIssue[] => {
    try {
      validateConfig({ values, secretKeys: new Set() });
      return [];
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return [...e.issues];
    }
  };
  const has = (issues: ConfigIssue[], p: string, m: RegExp) => assert.ok(issues.some((i) => i.path === p && m.test(i.message)), JSON.stringify(issues));
  const rsync = { target: "backup@10.0.9.9:/srv/backups", sshKeyFile: "/root/.ssh/id_backup", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBv4" };

  it("refuses config backups on the DRBD volume or inside GitLab's volume root", () => {
    has(issuesOf(base({ backup: { configDirectory: "/vdb/config-backups" } })), "gitlab.backup.configDirectory", /on the DRBD volume/);
    has(issuesOf(base({ volumeRoot: "/srv/gitlab", backup: { configDirectory: "/srv/gitlab/config-backups" } }, false)), "gitlab.backup.configDirectory", /inside gitlab\.volumeRoot/);
  });

  it("refuses a backup path outside the container's data volume", () => {
    has(issuesOf(base({ backup: { path: "/backups" } })), "gitlab.backup.path", /under \/var\/opt\/gitlab/);
  });

  it("the copy to another host needs the target's host key and an archive to copy", () => {
    const { hostKey: _, ...noKey } = rsync;
    has(issuesOf(base({ backup: { rsync: noKey } })), "gitlab.backup.rsync.hostKey", /expected/);
    has(issuesOf(base({ backup: { rsync, skip: ["tar"] } })), "gitlab.backup.skip", /SKIP=tar makes no archive/);
    assert.deepEqual(issuesOf(base({ backup: { rsync } })), []);
  });

  it("copies from DRBD nodes too (the volume's archives must leave the volume)", async () => {
    const e = await evaluateStack("prod", { overrides: { gitlab: { version: "18.5.2", edition: "ee", externalUrl: "https://gitlab.example.com", backup: { rsync: { ...rsync, port: 2200 } } } } });
    assert.match(String(byName(e, "backup-10-228-130-59-offsite-script").display.content), /^ARCHIVE_DIR=\/vdb\/gitlab\/var\/opt\/gitlab\/backups$/m);
    assert.equal(String(byName(e, "backup-10-228-130-59-offsite-known-hosts").display.content), `[10.0.9.9]:2200 ${rsync.hostKey}\n`);
    assert.match(String(byName(e, "backup-10-228-130-59-timers").display.create), /PACKAGES=\(rsync\)/);
  });
});

describe("copy to another host (rsync over a loopback sshd)", () => {
  const dir = tmp();
  let sshd: ChildProcess | undefined;
  let port = 0;
  const hostKey = path.join(dir, "host_ed25519");
  const clientKey = path.join(dir, "client_ed25519");
  const target = path.join(dir, "target");
  const keygen = (f: string) => assert.equal(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", f]).status, 0);
  const pub = (f: string) => fs.readFileSync(`${f}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");

  before(async () => {
    keygen(hostKey);
    keygen(clientKey);
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(dir, "authorized_keys"), `${pub(clientKey)}\n`);
    port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const config = [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "sshd_config"), `${config}\n`);
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // sshd's privilege separation directory
    sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", path.join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
    for (let i = 0; i < 50; i++) {
      const ok = await new Promise<boolean>((resolve) => net.connect(port, "127.0.0.1").on("connect", function (this: net.Socket) { this.destroy(); resolve(true); }).on("error", () => resolve(false)));
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("sshd did not start");
  });
  after(() => {
    sshd?.kill();
  });

  /** A node with two finished archives, a config backup, and files that must not leave. */
  function node() {
    const n = tmp();
    const archives = path.join(n, "backups");
    const configs = path.join(n, "config");
    fs.mkdirSync(archives);
    fs.mkdirSync(configs);
    const a = path.join(archives, "1732500000_2024_11_25_17.11.7_gitlab_backup.tar");
    fs.writeFileSync(a, crypto.randomBytes(4096));
    fs.chownSync(a, 998, 998); // git in the container: a uid the node may not know
    fs.writeFileSync(path.join(archives, "1732586400_2024_11_26_17.11.7_gitlab_backup.tar"), crypto.randomBytes(4096));
    fs.writeFileSync(path.join(archives, "artifacts.tar.gz"), "staging");
    fs.writeFileSync(path.join(configs, "gitlab-config-1732500000.tar"), "config");
    fs.writeFileSync(path.join(configs, "gitlab-config-1732586400.tar.partial"), "unfinished");
    return { n, archives, configs, a };
  }
  const copy = (nd: ReturnType<typeof node>, known: string, env: Record<string, string> = {}) => {
    const knownFile = path.join(nd.n, "known_hosts");
    fs.writeFileSync(knownFile, known);
    const s = script("offsite.sh", {
      LOCK: path.join(dir, "lock"),
      ARCHIVE_DIR: nd.archives,
      CONFIG_BACKUP_DIR: nd.configs,
      TARGET: `root@127.0.0.1:${target}`,
      NODE: "gl1",
      SSH_KEY: clientKey,
      SSH_PORT: port,
      KNOWN_HOSTS: knownFile,
    });
    return bash(s, env);
  };
  const sha = (f: string) => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex");
  const clean = () => {
    fs.rmSync(target, { recursive: true, force: true });
    fs.mkdirSync(target);
  };

  it("copies finished archives and config backups, owners kept numerically, to the pinned host", () => {
    clean();
    const nd = node();
    const r = copy(nd, knownHostsLine(`root@127.0.0.1:${target}`, port, pub(hostKey)));
    assert.equal(r.status, 0, r.stderr);
    const got = path.join(target, "gl1-gitlab-backups");
    assert.deepEqual(fs.readdirSync(got).sort(), ["1732500000_2024_11_25_17.11.7_gitlab_backup.tar", "1732586400_2024_11_26_17.11.7_gitlab_backup.tar"]);
    assert.equal(sha(path.join(got, path.basename(nd.a))), sha(nd.a));
    assert.equal(fs.statSync(path.join(got, path.basename(nd.a))).uid, 998);
    assert.deepEqual(fs.readdirSync(path.join(target, "gl1-gitlab-config")), ["gitlab-config-1732500000.tar"]);
  });

  it("sends a changed archive again even when its size and time match (--checksum)", () => {
    clean();
    const nd = node();
    const known = knownHostsLine(`root@127.0.0.1:${target}`, port, pub(hostKey));
    assert.equal(copy(nd, known).status, 0);
    const remote = path.join(target, "gl1-gitlab-backups", path.basename(nd.a));
    const st = fs.statSync(remote);
    fs.writeFileSync(remote, crypto.randomBytes(4096));
    fs.utimesSync(remote, st.atime, st.mtime);
    assert.equal(copy(nd, known).status, 0);
    assert.equal(sha(remote), sha(nd.a));
  });

  it("refuses a host whose key is not the pinned one, copying nothing", () => {
    clean();
    const other = path.join(dir, "other");
    if (!fs.existsSync(other)) keygen(other);
    const r = copy(node(), knownHostsLine(`root@127.0.0.1:${target}`, port, pub(other)));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
    assert.deepEqual(fs.readdirSync(target), []);
  });

  it("refuses an unknown host rather than accepting its key", () => {
    clean();
    const r = copy(node(), "");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Host key verification failed|No .* host key is known/);
    assert.deepEqual(fs.readdirSync(target), []);
  });

  it("copies nothing while a gitlab-backup run is writing its archive", () => {
    clean();
    const nd = node();
    fs.writeFileSync(path.join(nd.archives, "backup_information.yml"), ":gitlab_version: 17.11.7\n");
    const r = copy(nd, knownHostsLine(`root@127.0.0.1:${target}`, port, pub(hostKey)));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /a gitlab-backup run is writing/);
    assert.deepEqual(fs.readdirSync(target), []);
  });

  it("waits for the scheduled backup's lock before reading archives", () => {
    clean();
    const nd = node();
    const holder = spawn("flock", [path.join(dir, "lock"), "sleep", "2"]);
    const start = Date.now();
    spawnSync("sleep", ["0.3"]);
    const r = copy(nd, knownHostsLine(`root@127.0.0.1:${target}`, port, pub(hostKey)));
    holder.kill();
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Date.now() - start >= 1900, `copied after ${Date.now() - start} ms, while the lock was held`);
  });

  it("uses the lock the backup holds", () => {
    assert.match(renderScript({ description: "t", host: "h", vars: { LOCK: BACKUP_LOCK }, bodies: ["components/backup/scripts/offsite.sh"] }), /^LOCK=\/run\/lock\/gitlab-ha-backup\.lock$/m);
  });
});
