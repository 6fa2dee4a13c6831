// The failover layer's renderers and host scripts: exact texts, systemd's own verifier on the unit
// and the drop-in, a real TOML parser on the promoter config, shellcheck, and the scripts' behaviour
// against a stand-in systemctl (no systemd runs PID 1 on the test machine).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { renderScript, ShellValue } from "../../components/host/script";
import { renderGitlabAfterSentinelDropIn, renderPromoterConfig, renderSentinelUnit, SENTINEL_UNIT } from "../../components/sentinel/render";
import { shellcheck, tempDirs } from "../helpers";

const HEADER = "# Managed by gitlab-ha (components/sentinel). Local changes are overwritten on the next `pulumi up`.";
const GITLAB_UNIT = "gitlab-runsvdir.service";

const { root: tmpRoot, next: tmpDir } = tempDirs("gitlab-ha-sentinel-");

function run(cmd: string, args: readonly string[], o: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { input: o.input ?? "", env: o.env ?? process.env, encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("git_sentinel unit", () => {
  it("is the runbook's unit, with the sentinel's directory as working directory", () => {
    assert.equal(
      renderSentinelUnit({ execStart: "/opt/git_sentinel/git_sentinel" }),
      [
        HEADER,
        "[Unit]",
        "Description=git_sentinel: GitLab failover sentinel",
        "Wants=network-online.target sshd.service",
        "After=network-online.target sshd.service",
        "",
        "[Service]",
        "User=root",
        "WorkingDirectory=/opt/git_sentinel",
        "ExecStart=/opt/git_sentinel/git_sentinel",
        "ExecStop=/bin/kill -TERM ${MAINPID}",
        "Restart=always",
        "RestartSec=5s",
        "WatchdogSec=30s",
        "StartLimitInterval=10min",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
      ].join("\n"),
    );
    assert.equal(SENTINEL_UNIT, "git_sentinel.service");
  });

  it("refuses an ExecStart that is not a plain absolute path, naming it", () => {
    for (const bad of ["git_sentinel", "./git_sentinel", "/opt/git sentinel", "/opt/%n", "/opt/$x", "/opt/../bin/x", "/opt/./x", "/opt/x/", "/", "-/opt/x", "/opt//x", "/opt/x\nExecStartPre=/bin/rm", ""]) {
      assert.throws(() => renderSentinelUnit({ execStart: bad }), (e: Error) => e.message.includes(JSON.stringify(bad)), bad);
    }
  });
});

describe("GitLab drop-in", () => {
  it("orders GitLab after the sentinel and nothing else", () => {
    assert.equal(
      renderGitlabAfterSentinelDropIn(),
      "# Managed by gitlab-ha (components/sentinel): only the sentinel starts GitLab, so GitLab is ordered after it.\n[Unit]\nAfter=git_sentinel.service\n",
    );
  });
});

describe("systemd-analyze verify", () => {
  /** A unit directory: the sentinel unit (ExecStart an executable stand-in), optionally GitLab's stand-in unit and drop-in. */
  function unitDir(o: { sentinel?: (unit: string) => string; gitlab?: boolean; dropIn?: string } = {}): { dir: string; files: string[] } {
    const dir = tmpDir();
    const exec = path.join(dir, "opt", "git_sentinel");
    fs.mkdirSync(path.dirname(exec));
    fs.writeFileSync(exec, "#!/bin/sh\nexec sleep infinity\n", { mode: 0o755 });
    const unit = renderSentinelUnit({ execStart: exec });
    fs.writeFileSync(path.join(dir, SENTINEL_UNIT), o.sentinel ? o.sentinel(unit) : unit);
    const files = [path.join(dir, SENTINEL_UNIT)];
    if (o.gitlab) {
      // Stand-in for the packaged unit (omnibus: runsvdir-start, WantedBy=multi-user.target).
      fs.writeFileSync(path.join(dir, GITLAB_UNIT), `[Unit]\nDescription=GitLab Runit supervision process (stand-in)\n[Service]\nExecStart=${exec}\n[Install]\nWantedBy=multi-user.target\n`);
      files.push(path.join(dir, GITLAB_UNIT));
    }
    if (o.dropIn !== undefined) {
      fs.mkdirSync(path.join(dir, `${GITLAB_UNIT}.d`));
      fs.writeFileSync(path.join(dir, `${GITLAB_UNIT}.d`, "50-gitlab-ha-after-sentinel.conf"), o.dropIn);
    }
    return { dir, files };
  }

  /** systemd-analyze's findings: empty when it exits 0 and prints nothing (warnings count as findings). */
  function verify(files: readonly string[]): string {
    const r = run("systemd-analyze", ["verify", "--man=no", ...files]);
    return r.status === 0 && r.stdout === "" && r.stderr === "" ? "" : `exit ${r.status}\n${r.stdout}${r.stderr}`;
  }

  it("accepts the unit, StartLimitInterval= in [Service] included", () => {
    assert.equal(verify(unitDir().files), "");
  });

  it("rejects a malformed unit (the check really checks)", () => {
    const broken = unitDir({ sentinel: (u) => u.replace("[Service]", "[Servic]") });
    assert.match(verify(broken.files), /Unknown section 'Servic'/);
    const typo = unitDir({ sentinel: (u) => u.replace("RestartSec=", "RestartSecs=") });
    assert.match(verify(typo.files), /Unknown key 'RestartSecs'/);
    const noExec = unitDir({ sentinel: (u) => u.replace(/^ExecStart=(.*)$/m, "ExecStart=$1-missing") });
    assert.match(verify(noExec.files), /is not executable/);
  });

  it("accepts the unit with GitLab's unit and the drop-in, and reads the drop-in", () => {
    assert.equal(verify(unitDir({ gitlab: true, dropIn: renderGitlabAfterSentinelDropIn() }).files), "");
    const typo = unitDir({ gitlab: true, dropIn: renderGitlabAfterSentinelDropIn().replace("After=", "Aftr=") });
    assert.match(verify(typo.files), /50-gitlab-ha-after-sentinel\.conf:\d+: Unknown key 'Aftr'/);
  });

  it("orders GitLab after the sentinel: a sentinel ordered after GitLab makes a cycle only with the drop-in", () => {
    // Probe: a sentinel that would also pull GitLab in and start after it. That is a valid
    // transaction unless GitLab is ordered after the sentinel, which is what the drop-in says.
    const probe = (u: string) => u.replace("After=network-online.target sshd.service", `After=network-online.target sshd.service ${GITLAB_UNIT}\nWants=${GITLAB_UNIT}`);
    assert.equal(verify(unitDir({ sentinel: probe, gitlab: true }).files), "");
    assert.match(verify(unitDir({ sentinel: probe, gitlab: true, dropIn: renderGitlabAfterSentinelDropIn() }).files), /ordering cycle/);
  });
});

describe("drbd-reactor promoter config", () => {
  const toml = (text: string) => run("python3", ["-c", "import json, sys, tomllib; print(json.dumps(tomllib.loads(sys.stdin.read())))"], { input: text });

  it("is the documented layout, in start order", () => {
    const text = renderPromoterConfig({ resource: "gitlab", start: ["vdb.mount", "gitlab-runsvdir.service"] });
    assert.equal(
      text,
      `${HEADER}\n[[promoter]]\n[promoter.resources.gitlab]\nstart = ["vdb.mount", "gitlab-runsvdir.service"]\non-drbd-demote-failure = "reboot"\n`,
    );
    const r = toml(text);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      promoter: [{ resources: { gitlab: { start: ["vdb.mount", "gitlab-runsvdir.service"], "on-drbd-demote-failure": "reboot" } } }],
    });
  });

  it("parses with unit names using every allowed character", () => {
    const start = ["drbd-reconfigure-suspend-or-error@gitlab_1.service", "srv-git.data.mount", "gitlab-ha.target"];
    const r = toml(renderPromoterConfig({ resource: "Git_lab-1", start }));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).promoter[0].resources["Git_lab-1"].start, start);
  });

  it("the TOML check rejects malformed TOML (the check really checks)", () => {
    assert.notEqual(toml('[[promoter]]\n[promoter.resources.gitlab]\nstart = ["a.service"\n').status, 0);
  });

  it("refuses bad resource and unit names, naming them", () => {
    const cases: [string, readonly string[], string][] = [
      ["git lab", ["a.service"], "git lab"],
      ["gitlab.x", ["a.service"], "gitlab.x"],
      ["", ["a.service"], '""'],
      ["gitlab", ["a.socket"], "a.socket"],
      ["gitlab", ['a".service'], 'a\\".service'],
      ["gitlab", ["ocf:heartbeat:IPaddr2 ip ip=10.0.0.1"], "ocf:heartbeat"],
      ["gitlab", ["a.service", "b service.service"], "b service.service"],
      ["gitlab", ["a.service", "a.service"], "a.service"],
      ["gitlab", [], "start"],
    ];
    for (const [resource, start, named] of cases) {
      assert.throws(() => renderPromoterConfig({ resource, start }), (e: Error) => e.message.includes(named), `${resource} ${start.join(",")}`);
    }
  });
});

// --- host scripts ---------------------------------------------------------------------------

const ENABLE = "components/sentinel/scripts/enable.sh";
const RECOVER = "components/sentinel/scripts/recover-node.sh";

function script(body: string, vars: Record<string, ShellValue>): string {
  return renderScript({ description: `test ${body}`, host: "node-1", vars, bodies: [body] });
}

// The sentinel's binary, present and executable (enable.sh refuses otherwise: see recovery.test.ts).
const SENTINEL_EXEC = path.join(tmpRoot, "git_sentinel");
fs.writeFileSync(SENTINEL_EXEC, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
const enableVars = { SENTINEL_UNIT, SENTINEL_EXEC, GITLAB_UNIT };
const recoverVars = (ACTION: string, o: { stateDb?: string; gitData?: string } = {}) => ({
  ACTION,
  PEER: "",
  PEERS: ["node-2"],
  FAILOVER_UNIT: SENTINEL_UNIT,
  GITLAB_UNIT,
  STATE_DB: o.stateDb ?? "/opt/git_sentinel/state.db",
  DRBD_RESOURCE: "gitlab",
  DEVICE: "/dev/drbd0",
  FILESYSTEM: "xfs",
  GIT_DATA: o.gitData ?? "/var/opt/gitlab/git-data",
  MOUNT_POINT: "/vdb",
});

describe("sentinel host scripts", () => {
  const variants: [string, Record<string, ShellValue>][] = [
    [ENABLE, enableVars],
    ...["report", "stop-failover", "start-failover", "stop-gitlab", "start-gitlab", "unmount", "mount", "secondary", "primary", "discard", "connect", "reset"].map((a): [string, Record<string, ShellValue>] => [RECOVER, recoverVars(a)]),
  ];
  for (const [body, vars] of variants) {
    it(`${path.basename(body)} ${JSON.stringify(vars)} is strict and shellcheck-clean`, () => {
      const s = script(body, vars);
      assert.ok(s.startsWith("set -euo pipefail\n"));
      for (const k of Object.keys(vars)) assert.match(s, new RegExp(`^${k}=`, "m"), `${k} is not set`);
      assert.equal(shellcheck(s), "");
    });
  }
});

/**
 * A stand-in systemctl: each unit's state is a set of files in $FAKE_SYSTEMD (<unit>.unit: the
 * unit file exists; .reload: NeedDaemonReload; .enabled, .active: the states). It refuses any
 * call it does not know, so the scripts cannot depend on something it fakes wrongly.
 */
const FAKE_SYSTEMCTL = String.raw`#!/bin/bash
set -eu
d=$FAKE_SYSTEMD
printf '%s\n' "$*" >>"$d/calls"
bad() { echo "stand-in systemctl: unsupported call: $*" >&2; exit 2; }
verb=$1; shift
quiet= runtime= value= prop= u= n=0
while [ $# -gt 0 ]; do
  case $1 in
    --quiet) quiet=1 ;;
    --runtime) runtime=1 ;;
    --value) value=1 ;;
    -p) prop=$2; shift ;;
    -*) bad "$verb $*" ;;
    *) u=$1; n=$((n + 1)) ;;
  esac
  shift
done
if [ "$verb" = daemon-reload ]; then rm -f "$d"/*.reload; exit 0; fi
[ "$n" = 1 ] || bad "$verb"
exists() { [ -e "$d/$u.unit" ]; }
get() { if [ -e "$d/$u.$1" ]; then cat "$d/$u.$1"; else printf '%s' "$2"; fi; }
case $verb in
  show)
    [ -n "$value" ] || bad show
    case $prop in
      LoadState) if exists; then echo loaded; else echo not-found; fi ;;
      NeedDaemonReload) if [ -e "$d/$u.reload" ]; then echo yes; else echo no; fi ;;
      ActiveState) get active inactive; echo ;;
      *) bad "show -p $prop" ;;
    esac ;;
  is-enabled)
    exists || { echo "Failed to get unit file state for $u: No such file or directory" >&2; exit 1; }
    s=$(get enabled disabled)
    [ -n "$quiet" ] || echo "$s"
    case $s in enabled | enabled-runtime | static | alias | indirect | generated) exit 0 ;; *) exit 1 ;; esac ;;
  is-active)
    s=$(get active inactive)
    [ -n "$quiet" ] || echo "$s"
    [ "$s" = active ] ;;
  enable)
    exists || { echo "Failed to enable unit: Unit file $u does not exist." >&2; exit 1; }
    printf enabled >"$d/$u.enabled" ;;
  disable)
    exists || exit 1
    s=$(get enabled disabled)
    if [ -n "$runtime" ]; then [ "$s" != enabled-runtime ] || printf disabled >"$d/$u.enabled"
    else [ "$s" != enabled ] || printf disabled >"$d/$u.enabled"; fi ;;
  start)
    exists || { echo "Failed to start $u: Unit $u not found." >&2; exit 5; }
    printf active >"$d/$u.active" ;;
  stop) printf inactive >"$d/$u.active" ;;
  *) bad "$verb" ;;
esac
`;

/** A fake host: a bin directory with the stand-in systemctl first on PATH, and the units' state. */
function fakeHost(units: Record<string, { enabled?: string; active?: string; reload?: boolean }>) {
  const dir = tmpDir();
  const bin = path.join(dir, "bin");
  const state = path.join(dir, "systemd");
  fs.mkdirSync(bin);
  fs.mkdirSync(state);
  fs.writeFileSync(path.join(bin, "systemctl"), FAKE_SYSTEMCTL, { mode: 0o755 });
  fs.writeFileSync(path.join(state, "calls"), "");
  for (const [u, s] of Object.entries(units)) {
    fs.writeFileSync(path.join(state, `${u}.unit`), "");
    if (s.enabled) fs.writeFileSync(path.join(state, `${u}.enabled`), s.enabled);
    if (s.active) fs.writeFileSync(path.join(state, `${u}.active`), s.active);
    if (s.reload) fs.writeFileSync(path.join(state, `${u}.reload`), "");
  }
  return {
    dir,
    bin,
    run: (text: string) => run("bash", ["-c", text], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_SYSTEMD: state } }),
    state: (u: string, what: "enabled" | "active") => {
      const f = path.join(state, `${u}.${what}`);
      return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : what === "enabled" ? "disabled" : "inactive";
    },
    calls: () => fs.readFileSync(path.join(state, "calls"), "utf8").trim().split("\n"),
  };
}

const lines = (s: string) => s.split("\n").filter((l) => l !== "");

describe("enable.sh (stand-in systemctl)", () => {
  const enable = script(ENABLE, enableVars);

  it("reloads, enables and starts the sentinel, disables GitLab at boot without stopping it; then changes nothing", () => {
    const host = fakeHost({ [SENTINEL_UNIT]: { reload: true }, [GITLAB_UNIT]: { enabled: "enabled", active: "active", reload: true } });
    const first = host.run(enable);
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual(lines(first.stdout), [
      `gitlab-ha: changed: systemd reloaded units for ${SENTINEL_UNIT}`,
      `gitlab-ha: changed: enabled ${SENTINEL_UNIT}`,
      `gitlab-ha: changed: started ${SENTINEL_UNIT}`,
      `gitlab-ha: changed: disabled ${GITLAB_UNIT} at boot (the sentinel starts it)`,
    ]);
    assert.equal(host.calls().filter((c) => c === "daemon-reload").length, 1);
    assert.equal(host.state(SENTINEL_UNIT, "enabled"), "enabled");
    assert.equal(host.state(SENTINEL_UNIT, "active"), "active");
    assert.equal(host.state(GITLAB_UNIT, "enabled"), "disabled");
    assert.equal(host.state(GITLAB_UNIT, "active"), "active", "GitLab must not be stopped");
    assert.ok(!host.calls().some((c) => /^(stop|restart|mask)\b/.test(c)), host.calls().join("\n"));

    const second = host.run(enable);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stdout, "");
  });

  it("reloads when only GitLab's drop-in is new", () => {
    const host = fakeHost({ [SENTINEL_UNIT]: { enabled: "enabled", active: "active" }, [GITLAB_UNIT]: { reload: true } });
    const r = host.run(enable);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), [`gitlab-ha: changed: systemd reloaded units for ${GITLAB_UNIT}`]);
  });

  it("removes a runtime enablement of GitLab", () => {
    const host = fakeHost({ [SENTINEL_UNIT]: { enabled: "enabled", active: "active" }, [GITLAB_UNIT]: { enabled: "enabled-runtime" } });
    const r = host.run(enable);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), [`gitlab-ha: changed: disabled ${GITLAB_UNIT} at boot (runtime enablement; the sentinel starts it)`]);
    assert.equal(host.run(enable).stdout, "");
  });

  it("skips GitLab silently when it is not installed yet", () => {
    const host = fakeHost({ [SENTINEL_UNIT]: {} });
    const r = host.run(enable);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.deepEqual(lines(r.stdout), [`gitlab-ha: changed: enabled ${SENTINEL_UNIT}`, `gitlab-ha: changed: started ${SENTINEL_UNIT}`]);
  });

  it("fails, naming the unit, when the sentinel's unit is missing or masked", () => {
    const missing = fakeHost({ [GITLAB_UNIT]: { enabled: "enabled" } }).run(enable);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /git_sentinel\.service is not installed/);
    const masked = fakeHost({ [SENTINEL_UNIT]: { enabled: "masked" } }).run(enable);
    assert.notEqual(masked.status, 0);
    assert.match(masked.stderr, /git_sentinel\.service is masked/);
  });
});

describe("recover-node.sh (stand-in systemctl)", () => {
  it("stop, reset, start: each changes once, and reset refuses while the sentinel runs", () => {
    const host = fakeHost({ [SENTINEL_UNIT]: { enabled: "enabled", active: "active" } });
    const stateDb = path.join(host.dir, "opt", "state.db");
    fs.mkdirSync(path.dirname(stateDb));
    for (const f of [stateDb, `${stateDb}-wal`]) fs.writeFileSync(f, "x");
    const step = (action: string) => host.run(script(RECOVER, recoverVars(action, { stateDb })));

    const early = step("reset");
    assert.notEqual(early.status, 0);
    assert.match(early.stderr, /git_sentinel\.service is running/);
    assert.ok(fs.existsSync(stateDb), "state.db removed while the sentinel ran");

    assert.deepEqual(lines(step("stop-failover").stdout), [`gitlab-ha: changed: stopped ${SENTINEL_UNIT}`]);
    assert.equal(step("stop-failover").stdout, "");
    assert.deepEqual(lines(step("reset").stdout), [`gitlab-ha: changed: removed ${stateDb}`, `gitlab-ha: changed: removed ${stateDb}-wal`]);
    assert.ok(!fs.existsSync(stateDb));
    assert.equal(step("reset").stdout, "");
    assert.deepEqual(lines(step("start-failover").stdout), [`gitlab-ha: changed: started ${SENTINEL_UNIT}`]);
    assert.equal(step("start-failover").stdout, "");
  });

  it("stops a sentinel that is waiting to be restarted", () => {
    const host = fakeHost({ [SENTINEL_UNIT]: { active: "activating" } });
    assert.deepEqual(lines(host.run(script(RECOVER, recoverVars("stop-failover"))).stdout), [`gitlab-ha: changed: stopped ${SENTINEL_UNIT}`]);
    assert.equal(host.state(SENTINEL_UNIT, "active"), "inactive");
  });

  it("refuses an unknown action and a STATE_DB that is not a file path", () => {
    const host = fakeHost({ [SENTINEL_UNIT]: {} });
    const bad = host.run(script(RECOVER, recoverVars("wipe")));
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /ACTION must be report, .* or reset, not 'wipe'/);
    for (const stateDb of ["/", "state.db", ""]) {
      const r = host.run(script(RECOVER, recoverVars("reset", { stateDb })));
      assert.notEqual(r.status, 0, stateDb);
      assert.match(r.stderr, /STATE_DB must be an absolute path/);
    }
  });

  const REPORT = /^node=(\S+) role=(\S+) gi=(\S+) newest_git=(\d+) mounted=no failover=\S+ gitlab=\S+ peer:node-2=\S+$/;

  it("reports one line, tolerating no DRBD and no git data", () => {
    // The test machine has no drbd kernel module; drbdadm, when installed, finds no resource.
    const host = fakeHost({});
    const r = host.run(script(RECOVER, recoverVars("report", { gitData: path.join(host.dir, "no-such-dir") })));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(lines(r.stdout).length, 1);
    const m = REPORT.exec(r.stdout.trim());
    assert.ok(m, r.stdout);
    assert.equal(m[1], os.hostname());
    if (!fs.existsSync("/proc/drbd")) assert.equal(m[2], "unknown");
    assert.equal(m[3], "none");
    assert.equal(m[4], "0");
  });

  it("reports the current generation id and the newest git file, through a symlinked git-data", () => {
    const host = fakeHost({});
    fs.writeFileSync(
      path.join(host.bin, "drbdadm"),
      [
        "#!/bin/bash",
        'case "$1 $2" in',
        '  "role gitlab") echo Primary ;;',
        // DRBD 9 prints one line per peer device; the current UUID leads each line.
        '  "get-gi gitlab") printf "%s\\n" 6F0B3A1C2D4E5F60:0000000000000000:A1B2C3D4E5F60718:0000000000000000:1:1:0:1:0:0:0:0:0:0:0 6F0B3A1C2D4E5F60:1111111111111111:A1B2C3D4E5F60718:0000000000000000:1:1:0:1:0:0:0:0:0:0:0 ;;',
        "  *) echo 'no resources defined!' >&2; exit 10 ;;",
        "esac",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const data = path.join(host.dir, "vdb", "git-data");
    fs.mkdirSync(path.join(data, "repositories", "g", "p.git", "refs"), { recursive: true });
    const files: [string, number][] = [
      ["repositories/g/p.git/HEAD", 1600000000],
      ["repositories/g/p.git/refs/main", 1700000123],
      ["repositories/g/p.git/config", 1650000000],
    ];
    for (const [f, t] of files) {
      fs.writeFileSync(path.join(data, f), "x");
      fs.utimesSync(path.join(data, f), t, t + 0.75);
    }
    const link = path.join(host.dir, "git-data-link");
    fs.symlinkSync(data, link);
    const r = host.run(script(RECOVER, recoverVars("report", { gitData: link })));
    assert.equal(r.status, 0, r.stderr);
    const m = REPORT.exec(r.stdout.trim());
    assert.ok(m, r.stdout);
    if (fs.existsSync("/proc/drbd")) assert.equal(m[2], "Primary");
    assert.equal(m[3], "6F0B3A1C2D4E5F60");
    assert.equal(m[4], "1700000123");
  });
});
