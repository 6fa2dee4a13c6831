// Issue 16: where the HA layer's parts meet. Docker restarted after firewalld's flush and every
// container after its host's firewall; the failover engines enabled only once GitLab's unit,
// directories and container exist; DRBD configuration changes applied with `drbdadm adjust` after
// a dry run (real drbdadm -d planning against a stand-in drbdsetup that reports the running
// configuration); the failover contract rendered; GitLab's unit under failover.gitlabUnit; DRBD's
// first connection after the firewall.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { renderScript, scriptOf, ShellValue } from "../../components/host/script";
import { dependencies } from "../../components/offline/graph";
import type { Evaluation } from "../../components/offline/evaluate";
import { readStackFile } from "../../components/offline/stack-file";
import { byName, elServiceStandIns, evaluateStack, requireTool, ROOT, shellcheck, tempDirs } from "../helpers";

const { next: tmpDir } = tempDirs("gitlab-ha-seams-");
const A = "10-228-130-58"; // drbd.initialPrimary in Pulumi.prod.yaml
const B = "10-228-130-59";
const W = "drbd-witness";
const sh = (script: string, env: NodeJS.ProcessEnv) => spawnSync("bash", ["-c", script], { env, encoding: "utf8", timeout: 60_000 });
const lines = (s: string) => s.split("\n").filter((l) => l !== "");

/** Whether `name` waits, directly or through other steps, for the resource named `on`. */
function waitsFor(e: Evaluation, name: string, on: string): boolean {
  const deps = dependencies(e.resources);
  const seen = new Set<string>();
  const pending = [byName(e, name).id];
  while (pending.length) {
    for (const d of deps.get(pending.pop()!) ?? []) {
      if (d.endsWith(`::${on}`)) return true;
      if (!seen.has(d)) seen.add(d), pending.push(d);
    }
  }
  return false;
}

// --- 1. firewalld's flush and Docker ---------------------------------------------------------

describe("1. masking firewalld restarts Docker, containers wait for the firewall", () => {
  /** An EL host: systemctl, rpm and dnf stand-ins (test/helpers.ts elServiceStandIns). */
  function host() {
    const dir = tmpDir();
    const bin = elServiceStandIns(dir);
    for (const u of ["iptables", "ip6tables"]) fs.writeFileSync(path.join(dir, `${u}.enabled`), "enabled\n");
    const owed = path.join(dir, "var", "docker-owed");
    const script = renderScript({ description: "firewall install", host: "fwtest", vars: { OS_FAMILY: "dnf", DOCKER_OWED: owed }, bodies: ["components/firewall/scripts/install.sh"] });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    return {
      dir,
      owed,
      script,
      set: (file: string) => fs.writeFileSync(path.join(dir, file), "enabled\n"),
      run: (text = script) => sh(text, env),
      restarts: () => lines(fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8") : "").filter((c) => c === "systemctl restart docker.service").length,
    };
  }

  it("restarts a running Docker once after stopping an active firewalld, then changes nothing", () => {
    const h = host();
    h.set("firewalld.enabled"), h.set("firewalld.active"), h.set("docker.active");
    assert.equal(shellcheck(h.script), "");
    const first = h.run();
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual(lines(first.stdout), ["gitlab-ha: changed: firewalld stopped and masked", "gitlab-ha: changed: restarted docker: firewalld's stop flushed its iptables chains"]);
    assert.equal(h.restarts(), 1);
    assert.ok(!fs.existsSync(h.owed), "nothing owed after the restart");
    const second = h.run();
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stdout, "");
    assert.equal(h.restarts(), 1, "a second run restarts nothing");
  });

  it("restarts Docker after stopping a masked firewalld that runs, and not where firewalld was not running or Docker is not", () => {
    const h = host();
    fs.writeFileSync(path.join(h.dir, "firewalld.enabled"), "masked\n");
    h.set("firewalld.active"), h.set("docker.active");
    assert.deepEqual(lines(h.run().stdout), ["gitlab-ha: changed: firewalld stopped", "gitlab-ha: changed: restarted docker: firewalld's stop flushed its iptables chains"]);
    const idle = host();
    idle.set("firewalld.enabled"), idle.set("docker.active");
    assert.deepEqual(lines(idle.run().stdout), ["gitlab-ha: changed: firewalld stopped and masked"], "firewalld was stopped: nothing was flushed");
    assert.equal(idle.restarts(), 0);
    const noDocker = host();
    noDocker.set("firewalld.enabled"), noDocker.set("firewalld.active");
    assert.deepEqual(lines(noDocker.run().stdout), ["gitlab-ha: changed: firewalld stopped and masked"]);
    assert.equal(noDocker.restarts(), 0);
    assert.ok(!fs.existsSync(noDocker.owed), "a Docker started later makes its own chains");
  });

  it("still restarts Docker when the run that stopped firewalld failed before the restart", () => {
    const h = host();
    h.set("firewalld.enabled"), h.set("firewalld.active"), h.set("docker.active");
    // The step dies right after the mask (connection lost): the next run owes the restart.
    const broken = h.script.replace(/^( *)(changed "firewalld stopped and masked")$/m, "$1$2; exit 1");
    assert.notEqual(broken, h.script);
    assert.equal(h.run(broken).status, 1);
    assert.equal(h.restarts(), 0);
    assert.deepEqual(lines(h.run().stdout), ["gitlab-ha: changed: restarted docker: firewalld's stop flushed its iptables chains"]);
  });

  it("creates GitLab's and the runners' containers only after their host's firewall", async () => {
    const e = await evaluateStack("prod");
    for (const host of [A, B]) assert.ok(waitsFor(e, `gitlab-${host}-container`, `firewall-${host}-apply`), host);
    assert.ok(waitsFor(e, "runner-runner1-container", "firewall-runner1-apply"));
    const install = scriptOf(String(byName(e, `firewall-${A}-install`).display.create))!;
    assert.match(install, /systemctl restart docker\.service/);
  });
});

// --- 2. the failover engine after GitLab's unit --------------------------------------------

describe("2. the failover engine starts only once GitLab's unit, directories and container exist", () => {
  for (const engine of ["sentinel", "drbd-reactor"] as const) {
    it(`orders ${engine}'s enable step after the unit, the volume and the container`, async () => {
      const e = await evaluateStack("prod", { overrides: { failover: { engine } } });
      for (const host of [A, B]) {
        for (const step of ["unit-write", "volume", "container"]) {
          assert.ok(waitsFor(e, `failover-${host}-enable`, `gitlab-${host}-${step}`), `${engine} on ${host} waits for gitlab-${host}-${step}`);
        }
        assert.ok(waitsFor(e, `failover-${host}-enable`, `drbd-${host}-links`));
      }
    });
  }
});

// --- 3. drbdadm adjust ------------------------------------------------------------------------

const hasDrbdadm = spawnSync("drbdadm", ["--version"], { encoding: "utf8" }).status !== null && fs.existsSync("/usr/sbin/drbdadm");

/**
 * One DRBD node. drbdadm: `-d adjust` prints $S/plan (or, with a config, asks the real drbdadm for
 * its plan against the stand-in drbdsetup), `adjust` records the call, `status`/`role` answer from
 * $S/up and $S/role. drbdsetup: `show` prints $S/running (the kernel's configuration, as
 * drbdsetup show prints it), `events2 --now` the device line with open:$S/open.
 */
function drbdNode(o: { role?: string; up?: boolean; open?: boolean; plan?: string; conf?: string; running?: string }) {
  const dir = tmpDir();
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  const S = dir;
  fs.writeFileSync(path.join(S, "role"), `${o.role ?? "Secondary"}\n`);
  if (o.up ?? true) fs.writeFileSync(path.join(S, "up"), "");
  fs.writeFileSync(path.join(S, "plan"), o.plan ?? "");
  if (o.running) fs.writeFileSync(path.join(S, "running"), o.running);
  fs.writeFileSync(
    path.join(bin, "drbdadm"),
    `#!/bin/bash
set -eu
S=${S}
printf 'drbdadm %s\\n' "$*" >>"$S/calls"
case "$*" in
  "-d adjust "*) ${o.conf ? `exec /usr/sbin/drbdadm -c ${o.conf} -s ${bin}/drbdsetup "$@" 2>/dev/null` : `cat "$S/plan"`} ;;
  "adjust "*) touch "$S/adjusted" ;;
  "status "*) [ -e "$S/up" ] || { echo "$2: No such resource" >&2; exit 10; } ;;
  "role "*) cat "$S/role" ;;
  *) echo "stand-in drbdadm: unsupported call: $*" >&2; exit 2 ;;
esac
`,
    { mode: 0o755 },
  );
  fs.writeFileSync(
    path.join(bin, "drbdsetup"),
    `#!/bin/bash
S=${S}
case "$1" in
  show) cat "$S/running" ;;
  events2) echo "exists device name:gitlab volume:0 minor:0 backing_dev:/dev/vdb1 disk:UpToDate client:no quorum:yes open:${o.open ? "yes" : "no"}"; echo "exists -" ;;
  *) echo "stand-in drbdsetup: unsupported call: $*" >&2; exit 2 ;;
esac
`,
    { mode: 0o755 },
  );
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  return {
    run: (script: string) => sh(script, env),
    adjusted: () => fs.existsSync(path.join(S, "adjusted")),
    calls: () => lines(fs.existsSync(path.join(S, "calls")) ? fs.readFileSync(path.join(S, "calls"), "utf8") : ""),
  };
}
const adjustScript = (vars: Record<string, ShellValue> = {}) =>
  renderScript({ description: "drbd adjust", host: "drbdtest", vars: { RESOURCE: "gitlab", ACTIVATE: true, ...vars }, bodies: ["components/drbd/scripts/adjust.sh"] });

describe("3. DRBD configuration changes reach the kernel through a checked adjust", () => {
  it("is shellcheck-clean and does nothing when the plan is empty, the resource down or the module absent", () => {
    assert.equal(shellcheck(adjustScript()), "");
    const quiet = drbdNode({ plan: "" });
    const r = quiet.run(adjustScript());
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.ok(!quiet.adjusted());
    const down = drbdNode({ up: false, plan: "drbdsetup new-resource gitlab 0\n" });
    assert.equal(down.run(adjustScript()).stdout, "");
    assert.ok(!down.adjusted());
    const lab = drbdNode({ plan: "drbdsetup net-options gitlab 1 --verify-alg=sha256\n" });
    assert.equal(lab.run(adjustScript({ ACTIVATE: false })).stdout, "");
    assert.deepEqual(lab.calls(), []);
  });

  it("applies option changes on a Primary in use", () => {
    const node = drbdNode({ role: "Primary", open: true, plan: "drbdsetup net-options gitlab 1 --verify-alg=sha256\ndrbdsetup disk-options 0 --c-max-rate=200M\n" });
    const r = node.run(adjustScript());
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "gitlab-ha: changed: adjusted DRBD resource gitlab: drbdsetup net-options gitlab 1 --verify-alg=sha256; drbdsetup disk-options 0 --c-max-rate=200M\n");
    assert.ok(node.adjusted());
  });

  // Plan lines as drbdadm -d prints them (drbd-utils shared_main.c: the drbdsetup argv, one line per call).
  for (const [what, plan, refused] of [
    ["detach", "drbdsetup detach 0\ndrbdmeta 0 v09 /dev/vdc1 internal apply-al\ndrbdsetup attach 0 /dev/vdc1 /dev/vdc1 internal\n", "drbdsetup detach 0"],
    ["del-minor", "drbdsetup del-minor 1\n", "drbdsetup del-minor 1"],
    ["down", "drbdsetup down gitlab\n", "drbdsetup down gitlab"],
  ] as const) {
    it(`refuses a plan that would ${what} a resource in use, naming it; applies it where the resource is idle`, () => {
      for (const inUse of [{ role: "Primary" }, { role: "Secondary", open: true }]) {
        const node = drbdNode({ ...inUse, plan });
        const r = node.run(adjustScript());
        assert.equal(r.status, 1, r.stdout);
        assert.ok(r.stderr.includes(`refusing drbdadm adjust gitlab`) && r.stderr.includes(refused), r.stderr);
        assert.ok(!node.adjusted(), "nothing applied");
      }
      const idle = drbdNode({ role: "Secondary", plan });
      assert.equal(idle.run(adjustScript()).status, 0);
      assert.ok(idle.adjusted());
    });
  }

  describe("with real drbdadm planning (stand-in drbdsetup reports the running configuration)", { skip: requireTool("drbdadm", hasDrbdadm, "plans drbdadm -d adjust") }, () => {
    const hostname = spawnSync("uname", ["-n"], { encoding: "utf8" }).stdout.trim();
    function conf(disk: string): string {
      const dir = tmpDir();
      const res = `resource gitlab {
  options { auto-promote no; }
  on ${hostname} { node-id 0; address 127.0.0.1:7789; volume 0 { device minor 0; disk ${disk}; meta-disk internal; } }
  on peer { node-id 1; address 127.0.0.2:7789; volume 0 { device minor 0; disk ${disk}; meta-disk internal; } }
  connection-mesh { hosts ${hostname} peer; }
}
`;
      fs.writeFileSync(path.join(dir, "gitlab.res"), res);
      fs.writeFileSync(path.join(dir, "drbd.conf"), `global { usage-count no; }\ninclude "${dir}/gitlab.res";\n`);
      return path.join(dir, "drbd.conf");
    }
    // What `drbdsetup show gitlab` prints for that resource up with disk /dev/loop8 (drbdsetup show format).
    const running = `resource "gitlab" {
    options {
        auto-promote        no;
    }
    _this_host {
        node-id\t\t\t0;
        volume 0 {
            device\t\t\tminor 0;
            disk\t\t\t"/dev/loop8";
            meta-disk\t\t\tinternal;
        }
    }
    connection {
        _peer_node_id 1;
        path {
            _this_host ipv4 127.0.0.1:7789;
            _remote_host ipv4 127.0.0.2:7789;
        }
        net {
            _name           "peer";
        }
    }
}
`;
    it("refuses the detach drbdadm plans for a changed disk on the Primary", () => {
      const node = drbdNode({ role: "Primary", conf: conf("/dev/loop9"), running });
      const r = node.run(adjustScript());
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, /refusing drbdadm adjust gitlab .*in use here \(role Primary.*: drbdsetup detach --diskless 0\./);
      assert.ok(!node.adjusted());
    });

    it("plans nothing for a resource that matches the kernel's configuration: the step stays quiet", () => {
      const same = drbdNode({ role: "Primary", conf: conf("/dev/loop8"), running });
      const quiet = same.run(adjustScript());
      assert.equal(quiet.status, 0, quiet.stderr);
      assert.equal(quiet.stdout, "", "real drbdadm plans nothing for an unchanged resource");
      assert.ok(!same.adjusted());
    });
  });

  it("runs on every DRBD node once the resource is up, again when a configuration file changes", async () => {
    const e = await evaluateStack("prod");
    for (const host of [A, B, W]) {
      const adjust = byName(e, `drbd-${host}-adjust`);
      assert.ok(waitsFor(e, `drbd-${host}-adjust`, host === W ? `drbd-${host}-up` : `drbd-${host}-init`), host);
      assert.equal((adjust.display.triggers as unknown[]).length, 2, host);
    }
    const changed = await evaluateStack("prod", { overrides: { drbd: { ...prodDrbd(), disk: { cMaxRate: "200M" } } } });
    for (const host of [A, B, W]) {
      assert.notDeepEqual(byName(changed, `drbd-${host}-adjust`).display.triggers, byName(e, `drbd-${host}-adjust`).display.triggers, host);
    }
  });
});

function prodDrbd(): Record<string, unknown> {
  return JSON.parse(readStackFile(ROOT, "prod").config["gitlab-ha:drbd"]!) as Record<string, unknown>;
}

// --- 4. the failover contract ----------------------------------------------------------------

describe("4. the failover contract is written on the data nodes", () => {
  it("states, for the sentinel, auto-promote, who brings the resource up at boot and the unit it starts", async () => {
    const e = await evaluateStack("prod");
    const c = byName(e, `failover-${A}-contract`);
    assert.equal(c.display.path, "/opt/git_sentinel/gitlab-ha-failover-contract.txt");
    const text = String(c.display.content);
    assert.match(text, /^auto-promote: no \(\/etc\/drbd\.d\/gitlab\.res\)\. Opening or mounting \/dev\/drbd0 does NOT promote/m);
    assert.match(text, /^Brings gitlab up at boot: git_sentinel\.service .*`drbdadm adjust gitlab`/m);
    assert.match(text, /^Starts, on the node it elects, in this order: `drbdadm primary gitlab`, `mount \/dev\/drbd0 \/vdb`, `systemctl start gitlab-container\.service`\.$/m);
    // The resource file the contract describes.
    assert.match(String(byName(e, `drbd-${A}-res`).display.content), /^ {4}auto-promote no;$/m);
  });

  it("states drbd-reactor's side: the promoter adjusts at start and starts the mount, then GitLab", async () => {
    const e = await evaluateStack("prod", { overrides: { failover: { engine: "drbd-reactor" } } });
    const c = byName(e, `failover-${B}-contract`);
    assert.equal(c.display.path, "/etc/gitlab-ha/gitlab-ha-failover-contract.txt");
    assert.match(String(c.display.content), /^Brings gitlab up at boot: drbd-reactor\.service \(enabled\), its promoter runs `drbdadm adjust gitlab` on start\.$/m);
    assert.match(String(c.display.content), /then vdb\.mount and gitlab-container\.service/);
  });
});

// --- 5. failover.gitlabUnit ----------------------------------------------------------------

describe("5. GitLab's unit is written under failover.gitlabUnit", () => {
  it("writes the unit the drop-ins, the engine and the start step name", async () => {
    const unit = "gitlab-ha-gitlab.service";
    const e = await evaluateStack("prod", { overrides: { failover: { gitlabUnit: unit } } });
    for (const host of [A, B]) {
      assert.equal(byName(e, `gitlab-${host}-unit`).display.path, `/etc/systemd/system/${unit}`);
      assert.equal(byName(e, `failover-${host}-gitlab-guard`).display.path, `/etc/systemd/system/${unit}.d/50-gitlab-ha-volume.conf`);
      assert.match(scriptOf(String(byName(e, `gitlab-${host}-start`).display.create))!, new RegExp(`^GITLAB_UNIT=${unit.replace(/\./g, "\\.")}$`, "m"));
    }
  });
});

// --- 6. DRBD's first connection after the firewall -----------------------------------------

describe("6. DRBD connects only after the firewall", () => {
  it("orders init on every data node, and the tiebreaker's up, after that host's firewall", async () => {
    const e = await evaluateStack("prod");
    for (const host of [A, B]) assert.ok(waitsFor(e, `drbd-${host}-init`, `firewall-${host}-apply`), host);
    assert.ok(waitsFor(e, `drbd-${W}-up`, `firewall-${W}-apply`));
  });
});
