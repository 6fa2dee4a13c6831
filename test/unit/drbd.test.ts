// DRBD and quorum: the diskless tiebreaker brought up and kept up, `primary --force` only on a
// resource that never held data, and the reviewed runbook options. The test machine has no DRBD
// kernel module: the host scripts run against stand-in drbdadm, drbdsetup and systemctl that
// report the states named upstream (drbdsetup events2 lines, drbdadm get-gi fields).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ConfigError, rawConfig, validateConfig } from "../../components/config/load";
import { drbdSchema } from "../../components/config/schema";
import { renderGlobalCommon, renderTiebreakerUnit, tiebreakerUnit } from "../../components/drbd/render";
import { dependencies } from "../../components/offline/graph";
import { readStackFile } from "../../components/offline/stack-file";
import { renderScript, scriptOf } from "../../components/host/script";
import { byName, evaluateStack, ROOT, shellcheck, tempDirs } from "../helpers";

const { next: tmpDir } = tempDirs("gitlab-ha-drbd-");
const lines = (s: string) => s.split("\n").filter((l) => l !== "");
const trimmed = (text: string) => text.split("\n").map((l) => l.trim());

// --- 3. runbook options -----------------------------------------------------------------------

describe("DRBD options after review (global_common.conf)", () => {
  const prodDrbd = () => JSON.parse(readStackFile(ROOT, "prod").config["gitlab-ha:drbd"]!) as Record<string, unknown>;

  it("has no data-integrity-alg, on-io-error detach and a split-brain policy without handler by default", () => {
    const text = renderGlobalCommon(drbdSchema.parse({ initialPrimary: "a" }));
    assert.doesNotMatch(text, /data-integrity-alg/);
    assert.ok(trimmed(text).includes("on-io-error detach;"), text);
    assert.ok(trimmed(text).includes("after-sb-1pri consensus;"), text);
    assert.doesNotMatch(text, /call-pri-lost-after-sb|handlers/);
    // The runbook's other options stay.
    for (const l of ["protocol C;", "verify-alg sha1;", "csums-alg sha1;", "after-sb-0pri discard-zero-changes;", "after-sb-2pri disconnect;", "c-plan-ahead 5;", "disk-flushes yes;"]) {
      assert.ok(trimmed(text).includes(l), `missing ${l}`);
    }
  });

  it("is what the prod stack places on every DRBD node", async () => {
    const e = await evaluateStack("prod");
    for (const host of ["10-228-130-58", "10-228-130-59", "drbd-witness"]) {
      const content = String(byName(e, `drbd-${host}-global`).display.content);
      assert.doesNotMatch(content, /data-integrity-alg/, host);
      assert.match(content, /^ {4}on-io-error detach;$/m, host);
      assert.doesNotMatch(content, /call-pri-lost-after-sb/, host);
    }
  });

  it("writes data-integrity-alg only when the config asks, and a pri-lost-after-sb handler with call-pri-lost-after-sb", () => {
    const asked = renderGlobalCommon(drbdSchema.parse({ initialPrimary: "a", net: { dataIntegrityAlg: "crc32c" } }));
    assert.ok(trimmed(asked).includes("data-integrity-alg crc32c;"));
    for (const net of [{ afterSb1pri: "call-pri-lost-after-sb" }, { afterSb2pri: "call-pri-lost-after-sb" }]) {
      const text = renderGlobalCommon(drbdSchema.parse({ initialPrimary: "a", net }));
      const handlers = /^ {2}handlers \{\n {4}pri-lost-after-sb "([^"]+)";\n {2}\}$/m.exec(text);
      assert.ok(handlers, text);
      assert.match(handlers[1]!, /notify-pri-lost-after-sb\.sh/);
      assert.ok(text.indexOf("handlers {") < text.indexOf("net {"), "handlers inside common, before net");
    }
  });

  it("refuses bad values with their key paths", () => {
    const issues = (drbd: Record<string, unknown>) => {
      const f = readStackFile(ROOT, "prod", { drbd: { ...prodDrbd(), ...drbd } });
      try {
        validateConfig(rawConfig(f.config, (k) => f.secretKeys.includes(k)));
      } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.issues.map((i) => `${i.path}: ${i.message}`);
      }
      return [];
    };
    assert.deepEqual(issues({}), []);
    assert.ok(issues({ net: { dataIntegrityAlg: "--sha1" } }).some((i) => /^drbd\.net\.dataIntegrityAlg: expected a kernel digest name/.test(i)));
    assert.ok(issues({ net: { dataIntegrityAlg: "sha1;\nafter-sb-0pri discard-local" } }).some((i) => i.startsWith("drbd.net.dataIntegrityAlg: ")));
    // call-local-io-error would need a local-io-error handler, which the program does not define.
    assert.ok(issues({ disk: { onIoError: "call-local-io-error" } }).some((i) => i.startsWith("drbd.disk.onIoError: ")));
    assert.ok(issues({ net: { afterSb1pri: "call-pri-lost" } }).some((i) => i.startsWith("drbd.net.afterSb1pri: ")));
  });
});

// --- stand-ins --------------------------------------------------------------------------------

/**
 * A stand-in drbdadm and drbdsetup over one node's state in $FAKE_DRBD: `events` holds what
 * `drbdsetup events2 --now` prints (drbdsetup_events2.c: one "exists <object> key:value..." line
 * per object), `gi` what `drbdadm get-gi` prints (drbdtool_common.c dt_print_v9_uuids), `role`
 * the resource role, `up` exists while the resource is up. `primary --force` does what the kernel
 * does: Primary, disk UpToDate, a new current UUID. `events.next` replaces `events` after the
 * second read (a peer that connects while the step waits). Unknown calls fail.
 */
const FAKE_DRBDADM = String.raw`#!/bin/bash
set -eu
S=$FAKE_DRBD
printf 'drbdadm %s\n' "$*" >>"$S/calls"
a2=; [ $# -lt 2 ] || a2=$2
case "$1 $a2" in
  "status "*) [ -e "$S/up" ] || { echo "$2: No such resource" >&2; exit 10; }; echo "$2 role:$(cat "$S/role")" ;;
  "up "*) touch "$S/up" ;;
  "role "*) [ -e "$S/up" ] || { echo "$2: No such resource" >&2; exit 10; }; cat "$S/role" ;;
  "get-gi "*) cat "$S/gi" ;;
  "dstate "*)
    awk 'function val(k,  i) { for (i = 3; i <= NF; i++) if (index($i, k ":") == 1) return substr($i, length(k) + 2) }
      $2 == "device" { d = val("disk") } $2 == "peer-device" { p = p "/" val("peer-disk") } END { print d p }' "$S/events" ;;
  "primary --force")
    echo Primary >"$S/role"
    sed -i 's/ disk:[A-Za-z]*/ disk:UpToDate/' "$S/events"
    sed -i '1s/^[0-9A-F]*/6F0B3A1C2D4E5F61/' "$S/gi" ;;
  *) echo "stand-in drbdadm: unsupported call: $*" >&2; exit 2 ;;
esac
`;
const FAKE_DRBDSETUP = String.raw`#!/bin/bash
set -eu
S=$FAKE_DRBD
printf 'drbdsetup %s\n' "$*" >>"$S/calls"
[ "$1 $2" = "events2 --now" ] || { echo "stand-in drbdsetup: unsupported call: $*" >&2; exit 2; }
reads=$(( $(cat "$S/reads" 2>/dev/null || echo 0) + 1 ))
echo "$reads" >"$S/reads"
if [ "$reads" -ge 2 ] && [ -e "$S/events.next" ]; then mv "$S/events.next" "$S/events"; fi
cat "$S/events"
echo "exists -"
`;
/** wipefs on the stand-in disk reports DRBD metadata; on the device, the file system mkfs made. */
const FAKE_WIPEFS = String.raw`#!/bin/bash
set -eu
S=$FAKE_DRBD
for dev; do :; done
if [ "$dev" = "$FAKE_DISK" ]; then echo "0x3ffff000,,,drbd"; elif [ -e "$S/fs" ]; then echo "0x438,1b2c,,$(cat "$S/fs")"; fi
`;
const FAKE_TOOLS: Record<string, string> = {
  drbdadm: FAKE_DRBDADM,
  drbdsetup: FAKE_DRBDSETUP,
  wipefs: FAKE_WIPEFS,
  modprobe: '#!/bin/bash\nprintf "modprobe %s\\n" "$*" >>"$FAKE_DRBD/calls"\n',
  "mkfs.ext4": '#!/bin/bash\nprintf "mkfs.ext4 %s\\n" "$*" >>"$FAKE_DRBD/calls"\necho ext4 >"$FAKE_DRBD/fs"\n',
  mount: '#!/bin/bash\nprintf "mount %s\\n" "$*" >>"$FAKE_DRBD/calls"\ntouch "$FAKE_DRBD/mounted"\n',
  mountpoint: '#!/bin/bash\n[ -e "$FAKE_DRBD/mounted" ]\n',
};

type Peer = { name: string; id: number; connection: string; disk: string };
/** `drbdsetup events2 --now gitlab` for a node with node-id 0. */
function events(disk: string, peers: readonly Peer[]): string {
  const out = ["exists resource name:gitlab role:Secondary suspended:no force-io-failures:no may_promote:no promotion_score:0"];
  for (const p of peers) out.push(`exists connection name:gitlab peer-node-id:${p.id} conn-name:${p.name} connection:${p.connection} role:${p.connection === "Connected" ? "Secondary" : "Unknown"}`);
  out.push(`exists device name:gitlab volume:0 minor:0 backing_dev:/dev/vdb1 disk:${disk} client:no quorum:yes open:no`);
  for (const p of peers) {
    out.push(
      `exists peer-device name:gitlab peer-node-id:${p.id} conn-name:${p.name} volume:0 replication:${p.connection === "Connected" ? "Established" : "Off"} peer-disk:${p.disk} peer-client:${p.disk === "Diskless" ? "yes" : "no"} resync-suspended:no`,
    );
  }
  return out.join("\n") + "\n";
}
const JUST_CREATED = "0000000000000004:0000000000000000:0000000000000000:0000000000000000:0:0:0:0:1:0:0:0:0:0:0:0";
const USED = "6F0B3A1C2D4E5F60:0000000000000000:A1B2C3D4E5F60718:0000000000000000:1:1:0:0:1:0:0:0:0:0:0:0";

/** Replaces the value of each `NAME=` line a rendered script starts with (paths on the test machine). */
function withVars(script: string, vars: Record<string, string>): string {
  let s = script;
  for (const [k, v] of Object.entries(vars)) s = s.replace(new RegExp(`^${k}=.*$`, "m"), `${k}=${v}`);
  return s;
}

/** One node's stand-in world, and its init step from the evaluated stack run in it. */
function drbdNode(o: { role?: string; up?: boolean; gi: string; events: string; next?: string; marker?: string }) {
  const dir = tmpDir();
  const bin = path.join(dir, "bin");
  const state = path.join(dir, "drbd");
  fs.mkdirSync(bin);
  fs.mkdirSync(state);
  for (const [name, text] of Object.entries(FAKE_TOOLS)) fs.writeFileSync(path.join(bin, name), text, { mode: 0o755 });
  fs.writeFileSync(path.join(state, "role"), `${o.role ?? "Secondary"}\n`);
  fs.writeFileSync(path.join(state, "gi"), `${o.gi}\n`);
  fs.writeFileSync(path.join(state, "events"), o.events);
  if (o.next) fs.writeFileSync(path.join(state, "events.next"), o.next);
  if (o.up ?? true) fs.writeFileSync(path.join(state, "up"), "");
  fs.writeFileSync(path.join(state, "calls"), "");
  const disk = path.join(dir, "vdb1");
  fs.writeFileSync(disk, "");
  const marker = path.join(dir, "var", "lib", "gitlab-ha", "drbd-gitlab.first-primary");
  if (o.marker) {
    fs.mkdirSync(path.dirname(marker), { recursive: true });
    fs.writeFileSync(marker, o.marker);
  }
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_DRBD: state, FAKE_DISK: disk };
  return {
    marker,
    run(script: string) {
      const text = withVars(script, { DISK: disk, DEVICE: path.join(dir, "drbd0"), MOUNT_POINT: path.join(dir, "vdb"), MARKER: marker, CONNECT_WAIT: "3" });
      const r = spawnSync("bash", ["-c", text], { env, encoding: "utf8", timeout: 30_000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    calls: () => lines(fs.readFileSync(path.join(state, "calls"), "utf8")),
    forced: () => lines(fs.readFileSync(path.join(state, "calls"), "utf8")).filter((c) => c.startsWith("drbdadm primary")).length,
  };
}

const initScript = async (host: string, overrides: Record<string, unknown> = {}) => {
  const e = await evaluateStack("prod", { overrides });
  return scriptOf(String(byName(e, `drbd-${host}-init`).display.create))!;
};
const A = "10-228-130-58"; // drbd.initialPrimary in Pulumi.prod.yaml
const B = "10-228-130-59";
const W = "drbd-witness";
const peers = (b: [string, string], w: [string, string] = ["Connected", "Diskless"]): Peer[] => [
  { name: B, id: 1, connection: b[0], disk: b[1] },
  { name: W, id: 2, connection: w[0], disk: w[1] },
];

// --- 2. the first primary ---------------------------------------------------------------------

describe("primary --force only on a never-initialised resource (init step, stand-in drbdadm/drbdsetup)", () => {
  it("forces a fresh resource once every data node is connected and Inconsistent, writes the marker, and does nothing the second time", async () => {
    const script = await initScript(A);
    const node = drbdNode({ gi: JUST_CREATED, events: events("Inconsistent", peers(["Connected", "Inconsistent"])) });
    const first = node.run(script);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(node.forced(), 1);
    assert.ok(node.calls().includes("drbdadm primary --force gitlab"));
    assert.match(lines(first.stdout)[0]!, /^gitlab-ha: changed: forced gitlab primary on its first initialisation/);
    assert.match(fs.readFileSync(node.marker, "utf8"), /^forced primary on /);
    const again = node.run(script);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, "", "a second run changes nothing");
    assert.equal(node.forced(), 1);
  });

  it("waits for a data node that is still connecting, then forces", async () => {
    const node = drbdNode({
      gi: JUST_CREATED,
      events: events("Inconsistent", peers(["Connecting", "DUnknown"])),
      next: events("Inconsistent", peers(["Connected", "Inconsistent"])),
    });
    const r = node.run(await initScript(A));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(node.forced(), 1);
  });

  const refusals: [string, Parameters<typeof drbdNode>[0], RegExp][] = [
    ["an Outdated node whose peers are DUnknown (a partition)", { gi: USED, events: events("Outdated", peers(["Connecting", "DUnknown"], ["Connecting", "DUnknown"])) }, /refusing drbdadm primary --force gitlab on .*current UUID is not create-md's.*local disk Outdated/],
    ["a Consistent node whose peers are DUnknown", { gi: USED, events: events("Consistent", peers(["StandAlone", "DUnknown"], ["Connecting", "DUnknown"])) }, /refusing drbdadm primary --force gitlab .*local disk Consistent.*10-228-130-59:StandAlone\/DUnknown/],
    ["fresh metadata while a data node never connects", { gi: JUST_CREATED, events: events("Inconsistent", peers(["Connecting", "DUnknown"])) }, /not forcing gitlab primary after 3s: every data node must be connected and Inconsistent: 10-228-130-59 is Connecting/],
    ["fresh metadata while a connected data node has data", { gi: JUST_CREATED, events: events("Inconsistent", peers(["Connected", "Outdated"])) }, /refusing .*a data node may hold data: 10-228-130-59's disk is Outdated/],
    ["fresh metadata where an earlier first primary left its marker", { gi: JUST_CREATED, events: events("Inconsistent", peers(["Connected", "Inconsistent"])), marker: "forced primary on 10-228-130-58 at 2026-01-01T00:00:00Z\n" }, /refusing .*was made primary once already \(forced primary on 10-228-130-58 at 2026-01-01/],
  ];
  for (const [what, state, message] of refusals) {
    it(`refuses ${what}, with a clear message and without forcing`, async () => {
      const node = drbdNode(state);
      const r = node.run(await initScript(A));
      assert.notEqual(r.status, 0, r.stdout);
      assert.match(r.stderr, message);
      assert.equal(node.forced(), 0, node.calls().join("\n"));
      assert.ok(!node.calls().some((c) => c.startsWith("mkfs")), "nothing formatted");
    });
  }

  it("is safe to re-run when its inputs change: the initial primary moved to an initialised node forces nothing", async () => {
    const moved = { drbd: { ...(JSON.parse(readStackFile(ROOT, "prod").config["gitlab-ha:drbd"]!) as Record<string, unknown>), initialPrimary: B } };
    const script = await initScript(B, moved);
    assert.match(script, /^INITIAL_PRIMARY=true$/m);
    assert.match(script, new RegExp(`^DATA_PEERS=\\(${A}\\)$`, "m"), "the other data node, not the tiebreaker");
    // Healthy: the other node is Primary, this one an UpToDate Secondary.
    const healthy = drbdNode({ gi: USED, events: events("UpToDate", [{ name: A, id: 0, connection: "Connected", disk: "UpToDate" }, { name: W, id: 2, connection: "Connected", disk: "Diskless" }]) });
    const r = healthy.run(script);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(healthy.forced(), 0);
    // Resyncing from the Primary after a failover: Inconsistent here, UpToDate there.
    const syncing = drbdNode({ gi: USED, events: events("Inconsistent", [{ name: A, id: 0, connection: "Connected", disk: "UpToDate" }, { name: W, id: 2, connection: "Connected", disk: "Diskless" }]) });
    assert.equal(syncing.run(script).status, 0);
    assert.equal(syncing.forced(), 0);
    // The same re-run during a partition is refused, not forced.
    const cut = drbdNode({ gi: USED, events: events("Outdated", [{ name: A, id: 0, connection: "Connecting", disk: "DUnknown" }, { name: W, id: 2, connection: "Connecting", disk: "DUnknown" }]) });
    const refused = cut.run(script);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /refusing drbdadm primary --force/);
    assert.equal(cut.forced(), 0);
  });

  it("is shellcheck-clean for the initial primary and the other data node", async () => {
    for (const host of [A, B]) assert.equal(shellcheck(await initScript(host)), "", host);
  });
});

// --- 1. the tiebreaker ------------------------------------------------------------------------

/** A stand-in systemctl keeping each unit's state in $FAKE_SYSTEMD; refuses calls it does not know. */
const FAKE_SYSTEMCTL = String.raw`#!/bin/bash
set -eu
d=$FAKE_SYSTEMD
printf 'systemctl %s\n' "$*" >>"$d/calls"
bad() { echo "stand-in systemctl: unsupported call: $*" >&2; exit 2; }
verb=$1; shift
quiet= prop= u=
while [ $# -gt 0 ]; do
  case $1 in
    --quiet) quiet=1 ;;
    --value) ;;
    -p) prop=$2; shift ;;
    -*) bad "$verb $*" ;;
    *) u=$1 ;;
  esac
  shift
done
get() { if [ -e "$d/$u.$1" ]; then cat "$d/$u.$1"; else printf '%s' "$2"; fi; }
case $verb in
  daemon-reload) rm -f "$d"/*.reload ;;
  show)
    case $prop in
      LoadState) if [ -e "$d/$u.unit" ]; then echo loaded; else echo not-found; fi ;;
      NeedDaemonReload) if [ -e "$d/$u.reload" ]; then echo yes; else echo no; fi ;;
      *) bad "show -p $prop" ;;
    esac ;;
  is-enabled) s=$(get enabled disabled); [ -n "$quiet" ] || echo "$s"; [ "$s" = enabled ] ;;
  is-active) s=$(get active inactive); [ -n "$quiet" ] || echo "$s"; [ "$s" = active ] ;;
  enable) printf enabled >"$d/$u.enabled" ;;
  start | restart) printf active >"$d/$u.active"; touch "$FAKE_DRBD/up" ;;
  *) bad "$verb" ;;
esac
`;

describe("the diskless tiebreaker", () => {
  const UNIT = tiebreakerUnit("gitlab");

  it("has a unit that loads the module and brings the resource up at boot, accepted by systemd-analyze", () => {
    const unit = renderTiebreakerUnit("gitlab");
    assert.equal(UNIT, "drbd-tiebreaker-gitlab.service");
    for (const l of ["Type=oneshot", "RemainAfterExit=yes", "ExecStartPre=modprobe drbd", "ExecStart=drbdadm adjust gitlab", "ExecStop=drbdadm down gitlab", "WantedBy=multi-user.target"]) {
      assert.ok(lines(unit).includes(l), `missing ${l}`);
    }
    // systemd resolves bare names in its own search path; neither drbd-utils nor kmod is
    // installed here, so the verifier gets executable stand-ins at absolute paths (the lab test
    // verifies the unit as written, on a host with both).
    const dir = tmpDir();
    let standIn = unit;
    for (const tool of ["drbdadm", "modprobe"]) {
      fs.writeFileSync(path.join(dir, tool), "#!/bin/sh\n", { mode: 0o755 });
      standIn = standIn.replace(new RegExp(`=${tool} `, "g"), `=${path.join(dir, tool)} `);
    }
    const file = path.join(dir, UNIT);
    fs.writeFileSync(file, standIn);
    const r = spawnSync("systemd-analyze", ["verify", "--man=no", file], { encoding: "utf8" });
    assert.equal(`${r.status} ${r.stdout}${r.stderr}`, "0 ");
    fs.writeFileSync(file, standIn.replace("RemainAfterExit=", "RemainAfterExits="));
    assert.match(spawnSync("systemd-analyze", ["verify", "--man=no", file], { encoding: "utf8" }).stderr, /Unknown key 'RemainAfterExits'/);
  });

  it("is brought up, and kept up at boot, before the initial primary is forced (prod graph)", async () => {
    const e = await evaluateStack("prod");
    const deps = dependencies(e.resources);
    const unitFile = byName(e, `drbd-${W}-unit-write`);
    assert.equal(unitFile.display.stdin, renderTiebreakerUnit("gitlab"));
    assert.match(String(unitFile.display.create), new RegExp(`FILE_PATH=/etc/systemd/system/${UNIT}`));
    const up = byName(e, `drbd-${W}-up`);
    const script = scriptOf(String(up.display.create))!;
    assert.match(script, /^ACTIVATE=true$/m);
    assert.match(script, new RegExp(`^UNIT=${UNIT}$`, "m"));
    assert.equal(shellcheck(script), "");
    assert.ok([...deps.get(up.id)!].some((d) => d.endsWith(`::drbd-${W}-unit-write`)), "after its unit file");
    const init = byName(e, `drbd-${A}-init`);
    assert.ok([...deps.get(init.id)!].includes(up.id), "the initial primary waits for the tiebreaker's vote");
    // The data nodes' resource file lists the tiebreaker as a diskless peer.
    assert.match(String(byName(e, `drbd-${A}-res`).display.content), /on drbd-witness \{\n {4}node-id 2;\n {4}address 10\.228\.131\.10:7789;\n {4}volume 0 \{\n {6}device minor 0;\n {6}disk none;/);
  });

  function witness(units: { enabled?: string; active?: string; reload?: boolean }) {
    const dir = tmpDir();
    const bin = path.join(dir, "bin");
    const sd = path.join(dir, "systemd");
    const drbd = path.join(dir, "drbd");
    for (const d of [bin, sd, drbd]) fs.mkdirSync(d);
    fs.writeFileSync(path.join(bin, "systemctl"), FAKE_SYSTEMCTL, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "drbdadm"), FAKE_DRBDADM, { mode: 0o755 });
    fs.writeFileSync(path.join(sd, "calls"), "");
    fs.writeFileSync(path.join(drbd, "calls"), "");
    fs.writeFileSync(path.join(drbd, "role"), "Secondary\n");
    fs.writeFileSync(path.join(sd, `${UNIT}.unit`), "");
    if (units.enabled) fs.writeFileSync(path.join(sd, `${UNIT}.enabled`), units.enabled);
    if (units.active) fs.writeFileSync(path.join(sd, `${UNIT}.active`), units.active);
    if (units.reload) fs.writeFileSync(path.join(sd, `${UNIT}.reload`), "");
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_SYSTEMD: sd, FAKE_DRBD: drbd };
    return {
      run: (activate: boolean) => {
        const s = renderScript({ description: "test", host: W, vars: { UNIT, RESOURCE: "gitlab", ACTIVATE: activate }, bodies: ["components/drbd/scripts/tiebreaker.sh"] });
        const r = spawnSync("bash", ["-c", s], { env, encoding: "utf8" });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
      },
      state: (what: "enabled" | "active") => (fs.existsSync(path.join(sd, `${UNIT}.${what}`)) ? fs.readFileSync(path.join(sd, `${UNIT}.${what}`), "utf8") : ""),
      down: () => fs.rmSync(path.join(drbd, "up")),
    };
  }

  it("enables and starts the unit, changes nothing the second time, and brings a downed resource back", () => {
    const w = witness({ reload: true });
    const first = w.run(true);
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual(lines(first.stdout), [
      `gitlab-ha: changed: systemd reloaded units for ${UNIT}`,
      `gitlab-ha: changed: enabled ${UNIT} at boot`,
      `gitlab-ha: changed: started ${UNIT}: drbd module loaded, gitlab up diskless`,
    ]);
    assert.equal(w.state("enabled"), "enabled");
    assert.equal(w.state("active"), "active");
    assert.equal(w.run(true).stdout, "");
    w.down();
    assert.deepEqual(lines(w.run(true).stdout), [`gitlab-ha: changed: restarted ${UNIT}: gitlab was down`]);
    assert.equal(w.run(true).stdout, "");
  });

  it("only enables the unit without activation (lab hosts), and refuses a masked unit", () => {
    const w = witness({ enabled: "disabled" });
    assert.deepEqual(lines(w.run(false).stdout), [`gitlab-ha: changed: enabled ${UNIT} at boot`]);
    assert.equal(w.state("active"), "");
    const masked = witness({ enabled: "masked" }).run(true);
    assert.notEqual(masked.status, 0);
    assert.match(masked.stderr, /is masked: this node's quorum vote would be lost at the next boot/);
  });
});
