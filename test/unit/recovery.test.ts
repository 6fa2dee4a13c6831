// Issue 9, points 4-7: the split-brain recovery command's decisions and the order of its actions,
// against stand-in hosts reached through a stand-in `ssh` on PATH (each host has stand-in
// drbdadm, systemctl, mountpoint, umount, mount and uname that keep their state in files and
// behave as the upstream tools do for the states named in the tests); GitLab's unit guard
// (systemd's own verifier and condition evaluator) and the sentinel binary check.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { renderContainerUnit } from "../../components/gitlab/node";
import { renderScript } from "../../components/host/script";
import { checkVictim, planRecovery, recover, RecoveryRefused, type NodeReport } from "../../components/sentinel/recover";
import { GITLAB_GUARD_DROP_IN, renderGitlabGuardDropIn, SENTINEL_UNIT } from "../../components/sentinel/render";
import { dependencies } from "../../components/offline/graph";
import { byName, evaluateStack, ROOT, shellcheck } from "../helpers";

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-ha-recovery-"));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let dirs = 0;
const tmpDir = () => {
  const d = path.join(tmpRoot, `d${dirs++}`);
  fs.mkdirSync(d);
  return d;
};

// prod: two data nodes and a diskless tiebreaker.
const A = "10-228-130-58";
const B = "10-228-130-59";
const WITNESS = "drbd-witness";
const ADDRESS: Record<string, string> = { [A]: "10.228.130.58", [B]: "10.228.130.59", [WITNESS]: "10.228.131.10" };
const GITLAB_UNIT = "gitlab-container.service";

// --- the stand-in world ----------------------------------------------------------------------

// The stand-in tools: test/unit/stand-ins/recovery/ (ssh on the test's PATH, the others on each
// stand-in host's PATH). Changing calls are appended to the world's action log, in order.
const STAND_INS = path.join(ROOT, "test/unit/stand-ins/recovery");

interface HostState {
  role?: "Primary" | "Secondary";
  /** Connection state towards each peer, by peer name. */
  peers?: Record<string, string>;
  mounted?: boolean;
  units?: Record<string, string>;
  busy?: boolean;
  failConnect?: boolean;
  unreachable?: boolean;
}

/** A world of stand-in hosts; `hosts` by node name. */
function world(hosts: Record<string, HostState>) {
  const dir = tmpDir();
  const bin = path.join(dir, "bin");
  const hostBin = path.join(dir, "host-bin");
  fs.mkdirSync(bin);
  fs.mkdirSync(hostBin);
  fs.copyFileSync(path.join(STAND_INS, "ssh"), path.join(bin, "ssh"));
  fs.chmodSync(path.join(bin, "ssh"), 0o755);
  for (const name of ["drbdadm", "systemctl", "mountpoint", "umount", "mount", "uname"]) {
    fs.copyFileSync(path.join(STAND_INS, name), path.join(hostBin, name));
    fs.chmodSync(path.join(hostBin, name), 0o755);
  }
  fs.writeFileSync(path.join(dir, "actions"), "");
  const stateOf = (node: string) => path.join(dir, "hosts", ADDRESS[node]!);
  for (const [node, h] of Object.entries(hosts)) {
    const s = stateOf(node);
    fs.mkdirSync(s, { recursive: true });
    fs.writeFileSync(path.join(s, "name"), node);
    if (h.role) {
      fs.writeFileSync(path.join(s, "role"), `${h.role}\n`);
      fs.writeFileSync(path.join(s, "gi"), "6F0B3A1C2D4E5F60:0000000000000000:A1B2C3D4E5F60718:0000000000000000:1:1:0:1:0:0:0:0:0:0:0\n");
    }
    for (const [p, c] of Object.entries(h.peers ?? {})) fs.writeFileSync(path.join(s, `cstate.${p}`), `${c}\n`);
    for (const [u, st] of Object.entries(h.units ?? {})) fs.writeFileSync(path.join(s, `${u}.active`), `${st}\n`);
    if (h.mounted) fs.writeFileSync(path.join(s, "mounted"), "");
    if (h.busy) fs.writeFileSync(path.join(s, "busy"), "");
    if (h.failConnect) fs.writeFileSync(path.join(s, "fail-connect"), "");
    if (h.unreachable) fs.writeFileSync(path.join(s, "unreachable"), "");
  }
  const read = (node: string, f: string) => {
    const p = path.join(stateOf(node), f);
    return fs.existsSync(p) ? fs.readFileSync(p, "utf8").trim() : undefined;
  };
  // The sentinel's directory (its state.db) inside the world, not on the test machine.
  const sentinelDir = path.join(dir, "opt", "git_sentinel");
  fs.mkdirSync(sentinelDir, { recursive: true });
  return {
    dir,
    sentinelDir,
    env: { PATH: `${bin}:${process.env.PATH}`, FAKE_WORLD: dir },
    actions: () => fs.readFileSync(path.join(dir, "actions"), "utf8").split("\n").filter((l) => l !== ""),
    role: (n: string) => read(n, "role"),
    cstate: (n: string, peer: string) => read(n, `cstate.${peer}`),
    unit: (n: string, u: string) => read(n, `${u}.active`) ?? "inactive",
    mounted: (n: string) => read(n, "mounted") !== undefined,
    discarded: (n: string, peer: string) => read(n, `discarded.${peer}`) !== undefined,
  };
}
type World = ReturnType<typeof world>;

/** The split brain of the runbook: both data nodes primary, each StandAlone towards the other, both still see the witness. */
function splitBrain(o: { a?: HostState; b?: HostState } = {}): World {
  const running = { [SENTINEL_UNIT]: "active", [GITLAB_UNIT]: "active" };
  return world({
    [A]: { role: "Primary", peers: { [B]: "StandAlone", [WITNESS]: "Connected" }, mounted: true, units: { ...running }, ...o.a },
    [B]: { role: "Primary", peers: { [A]: "StandAlone", [WITNESS]: "Connected" }, mounted: true, units: { ...running }, ...o.b },
  });
}

/** Runs recover() in the world; returns its result or the error, and the log lines. */
async function recoverIn(w: World, answers: { survivor: string; victim: string }, overrides: Record<string, unknown> = {}) {
  const saved = { PATH: process.env.PATH, FAKE_WORLD: process.env.FAKE_WORLD };
  Object.assign(process.env, w.env);
  const lines: string[] = [];
  let suggested: string | undefined = "(not asked)";
  let asked: { victim: string; survivor: string } | undefined;
  try {
    const result = await recover({
      stackFile: "prod",
      overrides: { failover: { sentinel: { execStart: path.join(w.sentinelDir, "git_sentinel") } }, ...overrides },
      log: (l) => lines.push(l),
      survivor: async (_r, s) => ((suggested = s), answers.survivor),
      confirmVictim: async (victim, survivor) => ((asked = { victim, survivor }), answers.victim),
    }).then(
      (r) => r,
      (e: unknown) => e as Error,
    );
    return { result, lines, suggested, asked };
  } finally {
    process.env.PATH = saved.PATH;
    if (saved.FAKE_WORLD === undefined) delete process.env.FAKE_WORLD;
    else process.env.FAKE_WORLD = saved.FAKE_WORLD;
  }
}

it("the stand-in tools are shellcheck-clean", () => {
  for (const f of fs.readdirSync(STAND_INS)) assert.equal(shellcheck(fs.readFileSync(path.join(STAND_INS, f), "utf8")), "", f);
});

const STOPPED_NOTHING = (w: World) => assert.deepEqual(w.actions(), [], "nothing may be touched before every check passed");

// --- the decisions, from reports alone -------------------------------------------------------

describe("recovery decisions (pure)", () => {
  const report = (node: string, role: string, peers: Record<string, string>): NodeReport => ({ node, role, gi: "X", newestGit: 0, mounted: false, failover: "active", gitlab: "inactive", peers });
  const base = { dataNodes: [A, B], otherHosts: [WITNESS, "pgsql"] };

  it("a StandAlone end on either side makes the peer a victim", () => {
    for (const [there, back] of [["StandAlone", "StandAlone"], ["StandAlone", "Connecting"], ["Connecting", "StandAlone"]]) {
      const reports = [report(A, "Primary", { [B]: there! }), report(B, "Secondary", { [A]: back! })];
      assert.deepEqual(planRecovery({ ...base, reports, survivor: A }), { victims: [B] }, `${there}/${back}`);
    }
  });

  it("refuses: no survivor, a survivor that is not a data node, DRBD down on the survivor, no StandAlone connection", () => {
    const ok = [report(A, "Primary", { [B]: "StandAlone" }), report(B, "Primary", { [A]: "StandAlone" })];
    const refuses = (o: Parameters<typeof planRecovery>[0], re: RegExp) => assert.throws(() => planRecovery(o), (e: Error) => e instanceof RecoveryRefused && re.test(e.message), re.source);
    refuses({ ...base, reports: ok, survivor: "" }, /no survivor named/);
    refuses({ ...base, reports: ok, survivor: WITNESS }, /'drbd-witness' is not a DRBD data node of this stack \(it holds no copy of the volume\)/);
    refuses({ ...base, reports: ok, survivor: "nosuch" }, /'nosuch' is not a DRBD data node/);
    refuses({ ...base, reports: [report(A, "unknown", {}), ok[1]!], survivor: A }, /not up on the survivor 10-228-130-58/);
    refuses({ ...base, reports: [ok[0]!, report(B, "unknown", {})], survivor: A }, /not up on the victim 10-228-130-59/);
    refuses({ ...base, reports: [report(A, "Primary", { [B]: "Connected" }), report(B, "Secondary", { [A]: "Connected" })], survivor: A }, /no split brain to recover/);
    refuses({ ...base, reports: [report(A, "Primary", { [B]: "Connecting" }), report(B, "Primary", { [A]: "Connecting" })], survivor: A }, /no split brain to recover: .*sees 10-228-130-59 Connecting/);
  });

  it("the typed victim must be exactly the victim: not empty, not the survivor, not another host", () => {
    const check = (typed: string) => () => checkVictim({ typed, victim: B, survivor: A, dataNodes: [A, B] });
    assert.doesNotThrow(check(B));
    assert.throws(check(""), /no victim typed: type 10-228-130-59 .*no default/);
    assert.throws(check(A), /is the survivor: survivor and victim must be different nodes/);
    assert.throws(check(WITNESS), /'drbd-witness' is not a DRBD data node/);
  });
});

// --- the command against stand-in hosts ------------------------------------------------------

describe("split-brain recovery command (stand-in hosts over a stand-in ssh)", () => {
  it("repairs in order: engines stopped, victim's GitLab stopped before the unmount, demoted, discard towards the survivor only, survivor reconnects the victim only", async () => {
    const w = splitBrain();
    fs.writeFileSync(path.join(w.sentinelDir, "state.db"), "x");
    const r = await recoverIn(w, { survivor: A, victim: B });
    assert.ok(!(r.result instanceof Error), String(r.result));
    assert.deepEqual(r.asked, { victim: B, survivor: A });
    assert.deepEqual(w.actions(), [
      `${B}: systemctl stop ${SENTINEL_UNIT}`,
      `${A}: systemctl stop ${SENTINEL_UNIT}`,
      `${B}: systemctl stop ${GITLAB_UNIT}`,
      `${B}: umount /vdb`,
      `${B}: drbdadm secondary gitlab`,
      `${B}: drbdadm connect --discard-my-data gitlab:${A}`,
      `${A}: drbdadm connect gitlab:${B}`,
      `${A}: systemctl start ${SENTINEL_UNIT}`,
      `${B}: systemctl start ${SENTINEL_UNIT}`,
    ]);
    assert.equal(w.role(B), "Secondary");
    assert.ok(w.discarded(B, A) && !w.discarded(B, WITNESS));
    assert.equal(w.cstate(A, B), "Connecting");
    assert.equal(w.cstate(A, WITNESS), "Connected", "the tiebreaker's connection is left alone");
    assert.equal(w.unit(A, GITLAB_UNIT), "active", "the survivor's GitLab keeps running");
    assert.equal(w.unit(B, GITLAB_UNIT), "inactive");
    assert.ok(!fs.existsSync(path.join(w.sentinelDir, "state.db")), "the sentinel's state is reset");
    assert.ok(r.lines.some((l) => l === `after: ${B} role=Secondary connection to ${A}: Connecting`), r.lines.join("\n"));
  });

  it("a victim still Connecting towards the survivor is disconnected first; a survivor that is Connecting is not told to connect", async () => {
    const w = splitBrain({ a: { peers: { [B]: "Connecting", [WITNESS]: "Connected" } }, b: { role: "Secondary", mounted: false, units: { [SENTINEL_UNIT]: "active" }, peers: { [A]: "StandAlone", [WITNESS]: "Connected" } } });
    const r = await recoverIn(w, { survivor: A, victim: B });
    assert.ok(!(r.result instanceof Error), String(r.result));
    assert.deepEqual(w.actions().filter((l) => l.includes("drbdadm")), [`${B}: drbdadm connect --discard-my-data gitlab:${A}`]);

    const w2 = splitBrain({ a: { peers: { [B]: "StandAlone", [WITNESS]: "Connected" } }, b: { peers: { [A]: "Connecting", [WITNESS]: "Connected" } } });
    const r2 = await recoverIn(w2, { survivor: A, victim: B });
    assert.ok(!(r2.result instanceof Error), String(r2.result));
    assert.deepEqual(w2.actions().filter((l) => l.includes("drbdadm")), [
      `${B}: drbdadm secondary gitlab`,
      `${B}: drbdadm disconnect gitlab:${A}`,
      `${B}: drbdadm connect --discard-my-data gitlab:${A}`,
      `${A}: drbdadm connect gitlab:${B}`,
    ]);
  });

  // (Every refusal rule is in the pure tests above; here, that each one comes before any action.)
  it("refuses before touching anything: survivor not a data node, survivor typed as victim, no victim typed, no split brain, a host unreachable, a host that is another machine", async () => {
    const cases: [string, World, { survivor: string; victim: string }, RegExp][] = [
      ["tiebreaker as survivor", splitBrain(), { survivor: WITNESS, victim: B }, /'drbd-witness' is not a DRBD data node/],
      ["survivor == victim", splitBrain(), { survivor: A, victim: A }, /survivor and victim must be different nodes/],
      ["Enter for the victim", splitBrain(), { survivor: A, victim: "" }, /no victim typed/],
      [
        "connected: no split brain",
        splitBrain({ a: { peers: { [B]: "Connected", [WITNESS]: "Connected" } }, b: { role: "Secondary", peers: { [A]: "Connected", [WITNESS]: "Connected" } } }),
        { survivor: A, victim: B },
        /no split brain to recover/,
      ],
      ["victim unreachable", splitBrain({ b: { unreachable: true } }), { survivor: A, victim: B }, /cannot read the state of 10-228-130-59; nothing was changed:[\s\S]*Network is unreachable/],
    ];
    for (const [name, w, answers, re] of cases) {
      const r = await recoverIn(w, answers);
      assert.ok(r.result instanceof RecoveryRefused, `${name}: ${String(r.result)}`);
      assert.match(r.result.message, re, name);
      assert.deepEqual(w.actions(), [], `${name}: nothing may be touched before every check passed`);
      assert.equal(w.unit(A, SENTINEL_UNIT), "active", name);
    }
    // A host whose name is not its config name (DRBD matches `on` sections against uname -n).
    const w = splitBrain();
    fs.writeFileSync(path.join(w.dir, "hosts", ADDRESS[B]!, "name"), "someone-else");
    const r = await recoverIn(w, { survivor: A, victim: B });
    assert.ok(r.result instanceof RecoveryRefused && /calls itself someone-else/.test(r.result.message), String(r.result));
    STOPPED_NOTHING(w);
  });

  it("on an error after stopping things it restarts what it stopped, in reverse order (victim's volume busy)", async () => {
    const w = splitBrain({ b: { busy: true } });
    const r = await recoverIn(w, { survivor: A, victim: B });
    assert.ok(r.result instanceof Error && !(r.result instanceof RecoveryRefused), String(r.result));
    assert.match(r.result.message, /cannot unmount \/vdb on 10-228-130-59/);
    assert.match(r.result.message, /restored what the recovery had stopped: 10-228-130-59: started gitlab-container\.service; 10-228-130-58: started git_sentinel\.service; 10-228-130-59: started git_sentinel\.service/);
    assert.deepEqual(w.actions(), [
      `${B}: systemctl stop ${SENTINEL_UNIT}`,
      `${A}: systemctl stop ${SENTINEL_UNIT}`,
      `${B}: systemctl stop ${GITLAB_UNIT}`,
      `${B}: umount /vdb`,
      `${B}: systemctl start ${GITLAB_UNIT}`,
      `${A}: systemctl start ${SENTINEL_UNIT}`,
      `${B}: systemctl start ${SENTINEL_UNIT}`,
    ]);
    for (const n of [A, B]) assert.equal(w.unit(n, SENTINEL_UNIT), "active");
    assert.equal(w.unit(B, GITLAB_UNIT), "active");
    assert.equal(w.role(B), "Primary");
  });

  it("undoes a demotion when the discard fails, but after an accepted discard restarts only the failover engines", async () => {
    const w = splitBrain({ b: { failConnect: true } });
    const r = await recoverIn(w, { survivor: A, victim: B });
    assert.ok(r.result instanceof Error, String(r.result));
    assert.deepEqual(w.actions().slice(5), [
      `${B}: drbdadm connect --discard-my-data gitlab:${A}`,
      `${B}: drbdadm primary gitlab`,
      `${B}: mount -t ext4 /dev/drbd0 /vdb`,
      `${B}: systemctl start ${GITLAB_UNIT}`,
      `${A}: systemctl start ${SENTINEL_UNIT}`,
      `${B}: systemctl start ${SENTINEL_UNIT}`,
    ]);
    assert.equal(w.role(B), "Primary");
    assert.ok(w.mounted(B));

    const late = splitBrain({ a: { failConnect: true } });
    const r2 = await recoverIn(late, { survivor: A, victim: B });
    assert.ok(r2.result instanceof Error, String(r2.result));
    assert.match(r2.result.message, /Local address\(port\) already in use/);
    assert.deepEqual(late.actions().slice(6), [`${A}: drbdadm connect gitlab:${B}`, `${A}: systemctl start ${SENTINEL_UNIT}`, `${B}: systemctl start ${SENTINEL_UNIT}`]);
    assert.equal(late.unit(B, GITLAB_UNIT), "inactive", "the victim's data is being discarded: its GitLab stays down");
    assert.equal(late.role(B), "Secondary");
  });

  it("with drbd-reactor, stops and restarts drbd-reactor.service and keeps no sentinel state", async () => {
    const running = { "drbd-reactor.service": "active", [GITLAB_UNIT]: "active" };
    const w = splitBrain({ a: { units: { ...running } }, b: { units: { ...running } } });
    fs.writeFileSync(path.join(w.sentinelDir, "state.db"), "x");
    const r = await recoverIn(w, { survivor: A, victim: B }, { failover: { engine: "drbd-reactor", sentinel: { execStart: path.join(w.sentinelDir, "git_sentinel") } } });
    assert.ok(!(r.result instanceof Error), String(r.result));
    assert.deepEqual(w.actions().filter((l) => l.includes("systemctl")), [
      `${B}: systemctl stop drbd-reactor.service`,
      `${A}: systemctl stop drbd-reactor.service`,
      `${B}: systemctl stop ${GITLAB_UNIT}`,
      `${A}: systemctl start drbd-reactor.service`,
      `${B}: systemctl start drbd-reactor.service`,
    ]);
    assert.ok(fs.existsSync(path.join(w.sentinelDir, "state.db")));
  });

  it("the CLI asks for the victim's name with no default: Enter refuses, the typed name proceeds", () => {
    const cli = (w: World, args: string[], input: string) =>
      spawnSync(process.execPath, [path.join(ROOT, "dist/components/sentinel/recover-cli.js"), "--stack", "prod", ...args], {
        cwd: ROOT,
        input,
        encoding: "utf8",
        env: { ...process.env, ...w.env },
      });
    const w = splitBrain();
    const enter = cli(w, [], `${A}\n\n`);
    assert.equal(enter.status, 1, enter.stderr);
    assert.match(enter.stderr, /which node's data survives\?/);
    assert.match(enter.stderr, /Type the victim's node name to go on: /);
    assert.match(enter.stderr, /recover: no victim typed: type 10-228-130-59/);
    STOPPED_NOTHING(w);
    const eof = cli(w, ["--keep", A], "");
    assert.equal(eof.status, 1);
    assert.match(eof.stderr, /no victim typed/);
    STOPPED_NOTHING(w);

    const typed = cli(w, ["--keep", A], `${B}\n`);
    assert.equal(typed.status, 0, typed.stderr);
    assert.doesNotMatch(typed.stderr, /which node's data survives/, "--keep names the survivor");
    assert.equal(w.role(B), "Secondary");
    assert.match(typed.stderr, /recover: recovered: 10-228-130-58 kept its data; 10-228-130-59 resyncs from it/);
  });
});

// --- GitLab's unit guard and the sentinel binary -----------------------------------------------

describe("GitLab's unit: only where the volume is mounted", () => {
  it("asserts the mount point; with drbd-reactor it also restarts within start limits", () => {
    assert.equal(
      renderGitlabGuardDropIn({ mountPoint: "/vdb", engine: "sentinel" }),
      "# Managed by gitlab-ha (components/sentinel): GitLab runs only on the node where /vdb (the DRBD volume) is mounted.\n[Unit]\nAssertPathIsMountPoint=/vdb\n",
    );
    assert.equal(
      renderGitlabGuardDropIn({ mountPoint: "/vdb", engine: "drbd-reactor" }),
      "# Managed by gitlab-ha (components/sentinel): GitLab runs only on the node where /vdb (the DRBD volume) is mounted.\n[Unit]\nAssertPathIsMountPoint=/vdb\nStartLimitIntervalSec=30min\nStartLimitBurst=5\n\n[Service]\nRestart=always\nRestartSec=30s\n",
    );
    for (const bad of ["vdb", "/vdb x", "/vdb\nExecStartPre=/bin/rm", "/%h", "/a/../b"]) {
      assert.throws(() => renderGitlabGuardDropIn({ mountPoint: bad, engine: "sentinel" }), (e: Error) => e.message.includes(JSON.stringify(bad)), bad);
    }
  });

  it("systemd's own evaluator: the assertion holds on a mount point and fails on a plain directory", () => {
    const assertLine = (mountPoint: string) => renderGitlabGuardDropIn({ mountPoint, engine: "sentinel" }).split("\n").find((l) => l.startsWith("Assert"))!;
    const evaluate = (mountPoint: string) => spawnSync("systemd-analyze", ["condition", assertLine(mountPoint)], { encoding: "utf8" });
    const mounted = evaluate("/proc");
    assert.equal(mounted.status, 0, mounted.stderr);
    const plain = evaluate(tmpDir());
    assert.notEqual(plain.status, 0);
    assert.match(plain.stderr + plain.stdout, /AssertPathIsMountPoint=\S+ failed/);
  });

  it("systemd-analyze verify accepts GitLab's container unit with the drop-in (both engines), and catches a typo", () => {
    const verify = (dropIn: string) => {
      const dir = tmpDir();
      const exec = path.join(dir, "docker");
      fs.writeFileSync(exec, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      // The program's unit, with its docker path pointed at an executable stand-in (verify checks it).
      fs.writeFileSync(path.join(dir, GITLAB_UNIT), renderContainerUnit("gitlab").replaceAll("/usr/bin/docker", exec));
      fs.writeFileSync(path.join(dir, "docker.service"), `[Unit]\nDescription=Docker (stand-in)\n[Service]\nExecStart=${exec}\n`);
      fs.mkdirSync(path.join(dir, `${GITLAB_UNIT}.d`));
      fs.writeFileSync(path.join(dir, `${GITLAB_UNIT}.d`, GITLAB_GUARD_DROP_IN), dropIn);
      const r = spawnSync("systemd-analyze", ["verify", "--man=no", path.join(dir, GITLAB_UNIT)], { encoding: "utf8" });
      return r.status === 0 && r.stdout === "" && r.stderr === "" ? "" : `exit ${r.status}\n${r.stdout}${r.stderr}`;
    };
    for (const engine of ["sentinel", "drbd-reactor"] as const) assert.equal(verify(renderGitlabGuardDropIn({ mountPoint: "/vdb", engine })), "", engine);
    assert.match(verify(renderGitlabGuardDropIn({ mountPoint: "/vdb", engine: "drbd-reactor" }).replace("StartLimitBurst", "StartLimitBursts")), /Unknown key 'StartLimitBursts'/);
  });

  it("the program writes the drop-in next to GitLab's unit on every data node, for both engines, before the engine's step", async () => {
    for (const engine of ["sentinel", "drbd-reactor"] as const) {
      const e = await evaluateStack("prod", { overrides: { failover: { engine } } });
      const deps = dependencies(e.resources);
      for (const n of [A, B]) {
        const file = byName(e, `failover-${n}-gitlab-guard`);
        assert.equal(file.display.path, `/etc/systemd/system/${GITLAB_UNIT}.d/${GITLAB_GUARD_DROP_IN}`);
        assert.equal(file.display.content, renderGitlabGuardDropIn({ mountPoint: "/vdb", engine }));
        // The engine's step (daemon-reload, enable, start) comes after the drop-in is written.
        assert.ok([...deps.get(byName(e, `failover-${n}-enable`).id)!].some((d) => d.endsWith(`::failover-${n}-gitlab-guard-write`)), `${engine} ${n}`);
      }
      assert.ok(!e.resources.some((r) => r.name.startsWith(`failover-${WITNESS}`)), "the tiebreaker runs no GitLab");
    }
  });
});

describe("enable.sh: the sentinel's binary is checked before its unit is enabled or started", () => {
  /** systemctl for enable.sh: the unit files exist, nothing is enabled or running; calls are logged. */
  const STAND_IN = String.raw`#!/bin/bash
printf '%s\n' "$*" >>"$CALLS"
case "$1 $2 $3" in
  "show -p NeedDaemonReload") echo no ;;
  "show -p LoadState") echo loaded ;;
  *) case $1 in is-enabled) echo disabled; exit 1 ;; is-active) exit 3 ;; enable | start | disable) ;; *) exit 2 ;; esac ;;
esac
`;
  const enable = (exec: string) => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "systemctl"), STAND_IN, { mode: 0o755 });
    const calls = path.join(dir, "calls");
    fs.writeFileSync(calls, "");
    const text = renderScript({ description: "test", host: A, vars: { SENTINEL_UNIT, SENTINEL_EXEC: exec, GITLAB_UNIT }, bodies: ["components/sentinel/scripts/enable.sh"] });
    const r = spawnSync("bash", ["-c", text], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, CALLS: calls } });
    return { ...r, calls: fs.readFileSync(calls, "utf8").split("\n").filter((l) => l !== "") };
  };

  it("refuses a missing or non-executable binary with a clear error, enabling and starting nothing", () => {
    const dir = tmpDir();
    const notExec = path.join(dir, "git_sentinel");
    fs.writeFileSync(notExec, "#!/bin/sh\n", { mode: 0o644 });
    for (const exec of [path.join(dir, "missing"), notExec, dir]) {
      const r = enable(exec);
      assert.notEqual(r.status, 0, exec);
      assert.match(r.stderr, new RegExp(`gitlab-ha: error: the sentinel binary ${exec} is missing or not executable on .*failover\\.sentinel\\.execStart`));
      assert.ok(!r.calls.some((c) => /^(enable|start)\b/.test(c)), r.calls.join("\n"));
    }
  });

  it("goes on when the binary is there", () => {
    const exec = path.join(tmpDir(), "git_sentinel");
    fs.writeFileSync(exec, "#!/bin/sh\n", { mode: 0o755 });
    const r = enable(exec);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.calls.includes(`enable --quiet ${SENTINEL_UNIT}`) && r.calls.includes(`start ${SENTINEL_UNIT}`), r.calls.join("\n"));
  });
});
