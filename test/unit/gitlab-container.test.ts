// The GitLab container's lifecycle: a graceful stop when Pulumi replaces it, a restart through the
// failover engine's unit only where the DRBD volume is mounted, bind mounts that cannot fall back
// to an empty directory, and an explicit HTTPS choice in gitlab.rb (no Let's Encrypt by surprise).
// The host steps run for real with stand-in `findmnt` and `systemctl` on PATH.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ConfigError, validateConfig } from "../../components/config/load";
import { renderScript } from "../../components/host/script";
import { run } from "../../components/offline/run";
import { readStackFile } from "../../components/offline/stack-file";
import { byName, evaluateStack, gitlabRbOf, ROOT, rubySettings, shellcheck } from "../helpers";

const maxConnectionsOf = (e: Awaited<ReturnType<typeof evaluateStack>>) =>
  Number(/^max_connections = (\d+)$/m.exec(String(byName(e, "postgres-pgsql-conf").display.content))?.[1]);
const omnibusOf = gitlabRbOf;

/** A temp dir with stand-ins: findmnt answers from FAKE_MOUNTS ("<mountpoint>=<source>"), systemctl keeps unit states in files and logs every call. */
function standIns(): { dir: string; bin: string; log: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-container-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  const log = path.join(dir, "systemctl.log");
  fs.writeFileSync(
    path.join(bin, "findmnt"),
    `#!/bin/bash
# findmnt -rn -o SOURCE --mountpoint <dir>: the source mounted there, exit 1 when none (util-linux).
mp=""; while [ $# -gt 0 ]; do case "$1" in --mountpoint|-M) mp=$2; shift ;; esac; shift; done
for m in \${FAKE_MOUNTS:-}; do [ "\${m%%=*}" = "$mp" ] && { echo "\${m#*=}"; exit 0; }; done
exit 1
`,
    { mode: 0o755 },
  );
  fs.writeFileSync(
    path.join(bin, "systemctl"),
    `#!/bin/bash
echo "$*" >>"${log}"
state() { cat "${dir}/unit.$1" 2>/dev/null || echo inactive; }
case "$1" in
  show) [ "$3" = LoadState ] && echo loaded || echo no ;;
  is-active) [ "$(state "\${!#}")" = active ] ;;
  start) echo active >"${dir}/unit.$2" ;;
  daemon-reload) ;;
  *) exit 1 ;;
esac
`,
    { mode: 0o755 },
  );
  return { dir, bin, log };
}

async function runStep(body: string, vars: Record<string, string | string[]>, env: { bin: string; mounts?: string }) {
  const script = renderScript({ description: "test", host: "n1", vars, bodies: [body] });
  assert.equal(shellcheck(script), "");
  return run("bash", ["-c", script], { env: { ...process.env, PATH: `${env.bin}:${process.env.PATH}`, FAKE_MOUNTS: env.mounts ?? "" } });
}

describe("GitLab container replacement", () => {
  it("stops the old container with a grace period, as the unit does", async () => {
    const e = await evaluateStack("prod");
    const c = byName(e, "gitlab-10-228-130-58-container");
    assert.equal(c.values.destroyGraceSeconds, 300, "without it the provider stops a replaced container with a timeout of 0");
    assert.match(String(byName(e, "gitlab-10-228-130-58-unit").display.content), /ExecStop=\/usr\/bin\/docker stop --time 300 gitlab\n/);
  });

  it("declares a step after the container, re-run when it is replaced, that starts the failover's GitLab unit", async () => {
    const e = await evaluateStack("prod");
    const start = byName(e, "gitlab-10-228-130-58-start");
    assert.ok(start.dependsOn.includes("docker:index/container:Container::gitlab-10-228-130-58-container"), start.dependsOn.join(", "));
    assert.match(String(start.display.create), /GITLAB_UNIT=gitlab-container\.service/);
    assert.match(String(start.display.create), /MOUNT_POINT=\/vdb/);
    assert.match(String(start.display.create), /DRBD_DEVICE=\/dev\/drbd0/);
    assert.ok(Array.isArray(start.values.triggers) && start.values.triggers.length === 1, "re-run when the container's id changes");
  });

  it("starts the unit only where the DRBD device is mounted on the mount point", async () => {
    const vars = { MOUNT_POINT: "/vdb", DRBD_DEVICE: "/dev/drbd0", GITLAB_UNIT: "gitlab-container.service" };
    const body = "components/gitlab/scripts/start-after-replace.sh";

    const secondary = standIns();
    let r = await runStep(body, vars, { bin: secondary.bin });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.ok(!fs.existsSync(secondary.log), "no systemctl call at all on a node without the volume");
    // A mount point holding something else (not the DRBD device) is not the volume either.
    r = await runStep(body, vars, { bin: secondary.bin, mounts: "/vdb=/dev/sda3" });
    assert.equal(r.stdout, "");
    assert.ok(!fs.existsSync(secondary.log));

    const primary = standIns();
    r = await runStep(body, vars, { bin: primary.bin, mounts: "/vdb=/dev/drbd0" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /gitlab-ha: changed: started gitlab-container\.service: this node holds \/dev\/drbd0 on \/vdb/);
    assert.ok(fs.readFileSync(primary.log, "utf8").split("\n").includes("start gitlab-container.service"));
    r = await runStep(body, vars, { bin: primary.bin, mounts: "/vdb=/dev/drbd0" });
    assert.equal(r.stdout, "", "already running: nothing to do");
    assert.equal(fs.readFileSync(primary.log, "utf8").split("\n").filter((l) => l.startsWith("start")).length, 1);
  });
});

describe("GitLab container data", () => {
  it("is bind-mounted with type bind (a missing source is an error), never with -v volumes", async () => {
    for (const stack of ["prod", "lab"]) {
      const e = await evaluateStack(stack);
      for (const c of e.resources.filter((x) => x.type === "docker:index/container:Container" && x.name.startsWith("gitlab-"))) {
        assert.equal(c.values.volumes, undefined, `${c.name}: -v creates a missing source as an empty directory`);
        const mounts = c.values.mounts as { type: string; source: string; target: string }[];
        assert.deepEqual(mounts.map((m) => [m.type, m.target]), [["bind", "/etc/gitlab"], ["bind", "/var/opt/gitlab"], ["bind", "/var/log/gitlab"]]);
        const volume = e.resources.find((x) => x.name === c.name.replace(/-container$/, "-volume"))!;
        assert.ok(c.dependsOn.includes(`${volume.type}::${volume.name}`), `${c.name} waits for its bind sources: ${c.dependsOn.join(", ")}`);
      }
    }
  });

  it("on a DRBD node without the volume: placeholder files (the container can be created, never started); with it: directories on the volume", async () => {
    const s = standIns();
    const mp = path.join(s.dir, "vdb");
    fs.mkdirSync(mp);
    const vars = { VOLUME_ROOT: `${mp}/gitlab`, DIRS: ["/etc/gitlab", "/var/opt/gitlab", "/var/log/gitlab"], ON_DRBD: "yes", MOUNT_POINT: mp, DRBD_DEVICE: "/dev/drbd0" };
    const body = "components/gitlab/scripts/volume.sh";
    let r = await runStep(body, vars, { bin: s.bin });
    assert.equal(r.code, 0, r.stderr);
    for (const d of vars.DIRS) {
      const p = `${mp}/gitlab${d}`;
      assert.ok(fs.statSync(p).isFile(), `${p} is a placeholder file`);
      assert.match(fs.readFileSync(p, "utf8"), /DRBD volume is not mounted/);
    }
    assert.equal((r.stdout.match(/changed: placeholder/g) ?? []).length, 3);
    r = await runStep(body, vars, { bin: s.bin });
    assert.equal(r.stdout, "", "a second run changes nothing");

    // A directory below the unmounted mount point is data off the volume: refused.
    fs.rmSync(`${mp}/gitlab/var/opt/gitlab`);
    fs.mkdirSync(`${mp}/gitlab/var/opt/gitlab`);
    r = await runStep(body, vars, { bin: s.bin });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is a directory on the root file system while \/dev\/drbd0 is not mounted/);

    // The volume mounted (stand-in: a fresh directory as the mounted file system).
    const mounted = standIns();
    const mp2 = path.join(mounted.dir, "vdb");
    fs.mkdirSync(mp2);
    r = await runStep(body, { ...vars, VOLUME_ROOT: `${mp2}/gitlab`, MOUNT_POINT: mp2 }, { bin: mounted.bin, mounts: `${mp2}=/dev/drbd0` });
    assert.equal(r.code, 0, r.stderr);
    for (const d of vars.DIRS) assert.ok(fs.statSync(`${mp2}/gitlab${d}`).isDirectory());
  });

  it("refuses a volumeRoot off the DRBD volume on DRBD nodes, with its key path", () => {
    const values = {
      hosts: [
        { name: "db", address: "10.0.0.1", roles: ["postgres-primary"] },
        { name: "g1", address: "10.0.0.2", roles: ["gitlab", "drbd"], drbd: { nodeId: 0, disk: "/dev/vdb1" } },
        { name: "g2", address: "10.0.0.3", roles: ["gitlab", "drbd"], drbd: { nodeId: 1, disk: "/dev/vdb1" } },
        { name: "w", address: "10.0.0.4", roles: ["drbd-tiebreaker"], drbd: { nodeId: 2 } },
      ],
      ssh: { agent: true },
      firewall: { adminNetworks: ["10.0.0.0/8"] },
      drbd: { initialPrimary: "g1" },
      gitlab: { version: "17.11.7", externalUrl: "https://gitlab.example.com", volumeRoot: "/srv/gitlab" },
    };
    try {
      validateConfig({ values, secretKeys: new Set() });
      assert.fail("accepted");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.ok(e.issues.some((i) => i.path === "gitlab.volumeRoot" && i.message.includes("under drbd.mountPoint (/vdb/)")), e.message);
    }
  });
});

describe("GitLab HTTPS (gitlab.rb)", () => {
  it("turns Let's Encrypt off explicitly for an https external_url and serves the configured certificate", async () => {
    const e = await evaluateStack("prod");
    const rb = omnibusOf(e, "10-228-130-58");
    assert.match(execFileSync("ruby", ["-c"], { input: rb, encoding: "utf8" }), /Syntax OK/);
    const s = rubySettings(rb, { "/etc/gitlab-ha/db_password": "x" });
    assert.equal(s.external_url, "https://gitlab.example.com");
    assert.deepEqual(s.letsencrypt, { enable: false }, "left nil, Omnibus enables Let's Encrypt itself when the certificate is missing");
    assert.deepEqual(s.nginx, { ssl_certificate: "/etc/gitlab/ssl/gitlab.example.com.crt", ssl_certificate_key: "/etc/gitlab/ssl/gitlab.example.com.key" });

    const own = await evaluateStack("prod", { overrides: { gitlab: { version: "18.5.2", externalUrl: "https://gitlab.example.com", tls: { certificate: "/etc/gitlab/ssl/corp.pem", key: "/etc/gitlab/ssl/corp.key" } }, postgres: { version: 16, extensions: ["pg_trgm", "btree_gist", "plpgsql", "amcheck"] } } });
    assert.deepEqual(rubySettings(omnibusOf(own, "10-228-130-58"), { "/etc/gitlab-ha/db_password": "x" }).nginx, { ssl_certificate: "/etc/gitlab/ssl/corp.pem", ssl_certificate_key: "/etc/gitlab/ssl/corp.key" });
  });

  it("enables Let's Encrypt only when asked, and only for https", async () => {
    const asked = await evaluateStack("prod", { overrides: { gitlab: { version: "18.5.2", externalUrl: "https://gitlab.example.com", tls: { letsEncrypt: true, contactEmails: ["ops@example.com"] } }, postgres: { version: 16, extensions: ["pg_trgm", "btree_gist", "plpgsql", "amcheck"] } } });
    const s = rubySettings(omnibusOf(asked, "10-228-130-58"), { "/etc/gitlab-ha/db_password": "x" });
    assert.deepEqual(s.letsencrypt, { enable: true, contact_emails: ["ops@example.com"] });
    assert.equal(s.nginx, undefined);

    const lab = await evaluateStack("lab");
    assert.deepEqual(rubySettings(omnibusOf(lab, "gitlab"), { "/etc/gitlab-ha/db_password": "x" }).letsencrypt, { enable: false });

    try {
      validateConfig({
        values: {
          hosts: [{ name: "db", address: "10.0.0.1", roles: ["postgres-primary"] }, { name: "g1", address: "10.0.0.2", roles: ["gitlab"] }],
          ssh: { agent: true },
          firewall: { adminNetworks: ["10.0.0.0/8"] },
          gitlab: { version: "17.11.7", externalUrl: "http://gitlab.internal", tls: { letsEncrypt: true } },
        },
        secretKeys: new Set(),
      });
      assert.fail("accepted");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => `${i.path}: ${i.message}`), ["gitlab.tls.letsEncrypt: Let's Encrypt needs an https:// gitlab.externalUrl"]);
    }
  });
});

describe("GitLab's pools in gitlab.rb", () => {
  it("configures Puma and Sidekiq with the sizes the database's max_connections is derived from", async () => {
    const base = await evaluateStack("prod");
    const gitlab = { version: "18.5.2", externalUrl: "https://gitlab.example.test", puma: { workerProcesses: 6, maxThreads: 5 }, sidekiq: { concurrency: 30 } };
    const e = await evaluateStack("prod", { overrides: { gitlab } });
    const s = rubySettings(omnibusOf(e, "10-228-130-58"), { "/etc/gitlab-ha/db_password": "x" });
    assert.deepEqual(s.puma, { worker_processes: 6, max_threads: 5 });
    assert.deepEqual(s.sidekiq, { concurrency: 30 });
    // Unset workers are written too (Omnibus would count the CPUs it sees in the container): 2
    // without hosts[].cpus, and the database is sized for that.
    const d = rubySettings(omnibusOf(base, "10-228-130-58"), { "/etc/gitlab-ha/db_password": "x" });
    assert.deepEqual(d.puma, { worker_processes: 2, max_threads: 4 });
    assert.deepEqual(d.sidekiq, { concurrency: 20 });
    assert.equal(maxConnectionsOf(base), Math.max(400, 2 * (2 * (4 + 10) + (20 + 1 + 10)) + 20), "sized for 2 workers, not an assumed 8 CPUs");
  });

  it("writes each node's worker count from its CPUs and memory, and sizes max_connections from what is written", async () => {
    const file = readStackFile(ROOT, "prod");
    const hosts = (JSON.parse(file.config["gitlab-ha:hosts"]!) as Record<string, unknown>[]).map((h) =>
      h.name === "10-228-130-58" ? { ...h, cpus: 32, memoryMiB: 65536 } : h.name === "10-228-130-59" ? { ...h, cpus: 16, memoryMiB: 32768 } : h,
    );
    const e = await evaluateStack("prod", { overrides: { hosts } });
    const settingsOfNode = (n: string) => rubySettings(omnibusOf(e, n), { "/etc/gitlab-ha/db_password": "x" });
    const a = settingsOfNode("10-228-130-58").puma as { worker_processes: number; max_threads: number };
    const b = settingsOfNode("10-228-130-59").puma as { worker_processes: number; max_threads: number };
    // puma.rb: max(2, min(32, (65536 - 1536) / 1024 = 62)) = 32; min(16, (32768 - 1536) / 1024 = 30) = 16.
    // The DRBD nodes share /etc/gitlab, so one gitlab.rb: the count the smaller node can run.
    assert.deepEqual([a.worker_processes, b.worker_processes], [16, 16]);
    const sidekiq = (settingsOfNode("10-228-130-58").sidekiq as { concurrency: number }).concurrency;
    // One DRBD node serves at a time: the larger one's pools, two sets (main, ci), 20 for administration.
    assert.equal(maxConnectionsOf(e), 2 * (a.worker_processes * (a.max_threads + 10) + (sidekiq + 1 + 10)) + 20);
  });
});
