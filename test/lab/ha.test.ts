// The host HA layer on lab hosts: firewall, DRBD configuration and its guards, the sentinel unit
// and the split-brain recovery command. Lab containers have no DRBD kernel module: the resource
// is validated and its `up` planned by drbdadm, never brought up (see README).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { drbdSchema } from "../../components/config/schema";
import { renderGlobalCommon } from "../../components/drbd/render";
import { recover, RecoveryRefused } from "../../components/sentinel/recover";
import { address, CONFIG, converge, OPTIONS, resetLab, sh, StepError, waitFor } from "./bed";

const IMG = "/var/lib/gitlab-ha-lab/disks/vdb1.img";
/** GitLab's published HTTP port: the lab stack's own (derived from its name, components/lab/slots.ts). */
const HTTP = CONFIG.gitlab.ports.http;
const changesOf = (r: Awaited<ReturnType<typeof converge>>) => r.ran.flatMap((s) => s.changes.map((c) => `${s.host ?? "-"}: ${c}`));
/** Connects from one lab host to another's port: "open" or "refused". */
const probe = async (from: string, to: string, port: number) =>
  (await sh(from, `nc -z -w 3 ${address(to)} ${port} && echo open || echo refused`)) as "open" | "refused";
const saveRules = (host: string) => sh(host, "iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'");

describe("host HA layer on lab hosts", { timeout: 900_000 }, () => {
  before(async () => {
    await resetLab();
    await converge();
  });
  after(async () => {
    if (!process.env.KEEP_LAB) await resetLab();
  });

  it("opens each port to exactly the hosts its role declares", async () => {
    // Listeners standing in for DRBD, the sentinel and GitLab's published web port (none run in the lab).
    for (const port of [7789, 7980, HTTP]) await sh("gitlab", `systemd-run --quiet --unit=probe-${port} nc -lk ${port}`);
    await waitFor("listeners", 10, async () => ((await sh("gitlab", `ss -ltn | grep -c ':7789 \\|:7980 \\|:${HTTP} '`)) === "3" ? true : undefined));
    assert.equal(await probe("gitlab2", "gitlab", 7789), "open", "DRBD from a DRBD peer");
    assert.equal(await probe("witness", "gitlab", 7789), "open", "DRBD from the tiebreaker");
    assert.equal(await probe("pgsql", "gitlab", 7789), "refused", "DRBD from a database host");
    assert.equal(await probe("gitlab2", "gitlab", 7980), "open", "sentinel from a peer");
    assert.equal(await probe("pgsq2", "gitlab", 7980), "refused", "sentinel from a non-peer");
    assert.equal(await probe("witness", "gitlab", 7980), "refused", "sentinel only between data nodes, not from the tiebreaker");
    assert.equal(await probe("pgsql", "gitlab", HTTP), "open", "GitLab HTTP (the lab's published port) from anyone");
    assert.equal(await probe("gitlab2", "pgsql", 5432), "open", "PostgreSQL from a GitLab host");
    assert.equal(await probe("pgsq2", "pgsql", 5432), "open", "PostgreSQL from the standby");
    assert.equal(await probe("witness", "pgsql", 5432), "refused", "PostgreSQL from an unrelated host");
    assert.equal(await probe("gitlab", "pgsql", 22), "refused", "SSH only from the admin network");
    for (const port of [7789, 7980, HTTP]) await sh("gitlab", `systemctl stop probe-${port}`);
  });

  it("leaves iptables-save identical on a second run", async () => {
    const before = await Promise.all(["pgsql", "gitlab", "witness"].map(saveRules));
    const again = await converge({ force: true });
    assert.deepEqual(changesOf(again), []);
    assert.deepEqual(await Promise.all(["pgsql", "gitlab", "witness"].map(saveRules)), before);
    assert.equal(await sh("gitlab", "iptables -S INPUT | grep -c GITLAB-HA-INPUT"), "1");
    assert.match(await sh("gitlab", "cat /etc/iptables/rules.v4"), /-A GITLAB-HA-INPUT .*--dport 7789 .*ACCEPT/);
  });

  it("has every node's DRBD configuration accepted by drbdadm, which plans the expected up", async () => {
    for (const host of ["gitlab", "gitlab2", "witness"]) {
      assert.match(await sh(host, "drbdadm dump gitlab 2>/dev/null"), /resource gitlab \{/);
      assert.equal(await sh(host, "systemctl is-enabled drbd.service 2>/dev/null || true"), "disabled");
    }
    const plan = await sh("gitlab", "drbdadm -d up gitlab 2>/dev/null");
    assert.match(plan, /drbdsetup new-resource gitlab 0 --auto-promote=no --quorum=majority --on-no-quorum=io-error --on-no-data-accessible=io-error --on-suspended-primary-outdated=force-secondary/);
    assert.match(plan, new RegExp(`drbdsetup new-path gitlab 1 ipv4:${address("gitlab")}:7789 ipv4:${address("gitlab2")}:7789`));
    // The options after review: no data-integrity-alg, consensus, detach.
    assert.match(plan, /--protocol=C --transport=tcp --verify-alg=sha1 --csums-alg=sha1 --after-sb-0pri=discard-zero-changes --after-sb-1pri=consensus --after-sb-2pri=disconnect/);
    assert.doesNotMatch(plan, /data-integrity-alg/);
    assert.match(plan, /drbdmeta 0 v09 \/dev\/vdb1 internal apply-al/);
    assert.match(plan, /drbdsetup attach 0 \/dev\/vdb1 \/dev\/vdb1 internal .*--on-io-error=detach/);
    assert.match(await sh("witness", "drbdadm -d up gitlab 2>/dev/null"), /new-minor gitlab 0 0/);
    assert.doesNotMatch(await sh("witness", "drbdadm -d up gitlab 2>/dev/null"), /attach/);
  });

  it("lists the diskless tiebreaker as a connected peer in both data nodes' plans, and keeps it up at boot", async () => {
    for (const host of ["gitlab", "gitlab2"]) {
      const plan = await sh(host, "drbdadm -d up gitlab 2>/dev/null");
      assert.match(plan, /^drbdsetup new-peer gitlab 2 --_name=witness /m, host);
      assert.match(plan, new RegExp(`^drbdsetup new-path gitlab 2 ipv4:${address(host)}:7789 ipv4:${address("witness")}:7789$`, "m"), host);
      assert.match(plan, /^drbdsetup connect gitlab 2$/m, host);
      // drbdadm knows the peer is diskless (drbdadm_postparse.c: no bitmap for a diskless peer).
      assert.match(plan, /^drbdsetup peer-device-options gitlab 2 0 .*--bitmap=no$/m, host);
    }
    const own = await sh("witness", "drbdadm -d up gitlab 2>/dev/null");
    for (const [id, peer] of [[0, "gitlab"], [1, "gitlab2"]] as const) {
      assert.match(own, new RegExp(`^drbdsetup new-peer gitlab ${id} --_name=${peer} `, "m"));
      assert.match(own, new RegExp(`^drbdsetup connect gitlab ${id}$`, "m"));
    }
    // The unit that brings it up at every boot: enabled, and valid with the real drbdadm and modprobe.
    assert.equal(await sh("witness", "systemctl is-enabled drbd-tiebreaker-gitlab.service"), "enabled");
    assert.equal(await sh("witness", "systemd-analyze verify /etc/systemd/system/drbd-tiebreaker-gitlab.service 2>&1 || echo failed"), "");
    // (verify resolves the bare names in systemd's search path and fails on a missing command.)
    assert.match(await sh("witness", "systemctl show -p ExecStart --value drbd-tiebreaker-gitlab.service"), /argv\[\]=drbdadm adjust gitlab ;/);
    assert.match(await sh("witness", "systemctl show -p ExecStartPre --value drbd-tiebreaker-gitlab.service"), /argv\[\]=modprobe drbd ;/);
    // drbd.activate is false in the lab (no kernel module): enabled, not started.
    assert.equal(await sh("witness", "systemctl is-active drbd-tiebreaker-gitlab.service || true"), "inactive");
  });

  it("has drbdadm accept the pri-lost-after-sb handler rendered for call-pri-lost-after-sb", async () => {
    const text = renderGlobalCommon(drbdSchema.parse({ initialPrimary: "gitlab", net: { afterSb1pri: "call-pri-lost-after-sb" } }));
    await sh("gitlab", "mkdir -p /tmp/drbd-handler && cat >/tmp/drbd-handler/global_common.conf", text);
    await sh("gitlab", "printf 'include \"/tmp/drbd-handler/global_common.conf\";\ninclude \"/etc/drbd.d/gitlab.res\";\n' >/tmp/drbd-handler/drbd.conf");
    const dump = await sh("gitlab", "drbdadm -c /tmp/drbd-handler/drbd.conf dump 2>/dev/null");
    assert.match(dump, /^common \{[\s\S]*handlers \{\s+pri-lost-after-sb\s+"\/usr\/lib\/drbd\/notify-pri-lost-after-sb\.sh; /m);
    assert.match(dump, /after-sb-1pri\s+call-pri-lost-after-sb;/);
    await sh("gitlab", "rm -rf /tmp/drbd-handler");
  });

  it("places GitLab's directories on the volume and keeps the volume out of fstab", async () => {
    for (const host of ["gitlab", "gitlab2"]) {
      assert.equal(await sh(host, "readlink /var/opt/gitlab"), "/vdb/gitlab/var/opt/gitlab");
      assert.equal(await sh(host, "readlink /etc/gitlab"), "/vdb/gitlab/etc/gitlab");
    }
    await sh("gitlab2", "echo '/dev/drbd0 /vdb ext4 defaults 0 0' >> /etc/fstab");
    const r = await converge({ force: true });
    assert.ok(changesOf(r).some((c) => c.startsWith("gitlab2: /etc/fstab: boot-time mount of /dev/drbd0 disabled")), changesOf(r).join("\n"));
    assert.match(await sh("gitlab2", "cat /etc/fstab"), /^# disabled by gitlab-ha .*\/dev\/drbd0 \/vdb ext4/m);
  });

  it("runs the sentinel unit, restarts it when the keep-alive stops, orders GitLab after it", async () => {
    for (const host of ["gitlab", "gitlab2"]) {
      assert.equal(await sh(host, "systemctl is-enabled git_sentinel.service"), "enabled");
      assert.equal(await sh(host, "systemctl is-active git_sentinel.service"), "active");
      assert.equal(await sh(host, "systemd-analyze verify /etc/systemd/system/git_sentinel.service 2>&1 || echo failed"), "");
      assert.match(await sh(host, "cat /etc/systemd/system/gitlab-container.service.d/50-gitlab-ha-after-sentinel.conf"), /^After=git_sentinel\.service$/m);
    }
    // The program's gitlab-container.service, enabled at boot by hand (or a package): the next run disables it.
    await sh("gitlab", "systemctl enable --quiet gitlab-container.service");
    const r = await converge({ force: true });
    assert.ok(changesOf(r).includes("gitlab: disabled gitlab-container.service at boot (the sentinel starts it)"), changesOf(r).join("\n"));
    assert.equal(await sh("gitlab", "systemctl is-enabled gitlab-container.service || true"), "disabled");
    assert.match(await sh("gitlab", "systemctl show -p After --value gitlab-container.service"), /git_sentinel\.service/);
    // Lab hosts run no Docker engine of their own (their GitLab containers live on the local one).
    assert.equal(await sh("gitlab", "systemd-analyze verify /etc/systemd/system/gitlab-container.service 2>&1 | grep -v -e docker.service -e /usr/bin/docker || true"), "");
    const restarts = async () => Number(await sh("gitlab", "systemctl show -p NRestarts --value git_sentinel.service"));
    const before = await restarts();
    // The stand-in stops sending WATCHDOG=1; WatchdogSec=30s, RestartSec=5s.
    await sh("gitlab", "touch /run/git_sentinel.stand-in.pause");
    await waitFor("a watchdog restart", 60, async () => ((await restarts()) > before ? true : undefined));
    assert.notEqual(await sh("gitlab", "journalctl -u git_sentinel.service --no-pager | grep -c 'Watchdog timeout' || true"), "0");
    await sh("gitlab", "rm -f /run/git_sentinel.stand-in.pause");
    await waitFor("the sentinel active again", 30, async () => ((await sh("gitlab", "systemctl is-active git_sentinel.service || true")) === "active" ? true : undefined));
  });

  it("the recovery command reads every node over SSH and refuses without a split brain, stopping nothing", async () => {
    // Lab hosts have no DRBD kernel module: no connection is StandAlone, so there is nothing to
    // recover (the full repair runs against stand-in DRBD tools in test/unit/recovery.test.ts).
    for (const [host, age] of [["gitlab", "now"], ["gitlab2", "1 hour ago"]] as const) {
      await sh(host, `mkdir -p /vdb/gitlab/var/opt/gitlab/git-data/repositories && touch -d '${age}' /vdb/gitlab/var/opt/gitlab/git-data/repositories/a.git && echo state > /opt/git_sentinel/state.db`);
    }
    const lines: string[] = [];
    let offered: string | undefined;
    const refused = await recover({
      ...OPTIONS,
      log: (l) => lines.push(l),
      survivor: async (_r, suggested) => ((offered = suggested), "gitlab"),
      confirmVictim: async () => "gitlab2",
    }).then(() => undefined, (e: unknown) => e);
    assert.equal(offered, "gitlab", "the node with the newest git data is suggested");
    assert.ok(refused instanceof RecoveryRefused, String(refused));
    assert.match((refused as Error).message, /DRBD resource is not up on the survivor gitlab/);
    assert.ok(lines.some((l) => l.startsWith("report: gitlab2 role=unknown")), lines.join("\n"));
    assert.ok(!lines.some((l) => /stopped|removed/.test(l)), lines.join("\n"));
    for (const host of ["gitlab", "gitlab2"]) {
      assert.equal(await sh(host, "[ -e /opt/git_sentinel/state.db ] && echo kept || echo removed"), "kept");
      assert.equal(await sh(host, "systemctl is-active git_sentinel.service"), "active");
    }
  });

  it("GitLab's unit refuses to start where the volume is not mounted (real systemd)", async () => {
    // /vdb is a plain directory on lab hosts (no DRBD): the assertion must fail the start job.
    assert.equal(await sh("gitlab", "mountpoint -q /vdb && echo mounted || echo not-mounted"), "not-mounted");
    assert.equal(await sh("gitlab", "systemctl start gitlab-container.service >/dev/null 2>&1 && echo started || echo refused"), "refused");
    assert.equal(await sh("gitlab", "systemctl show -p AssertResult --value gitlab-container.service"), "no");
    assert.equal(await sh("gitlab", "systemctl is-active gitlab-container.service || true"), "inactive");
  });

  it("never re-creates DRBD metadata, and refuses a disk that holds other data", async () => {
    const sum = (host: string) => sh(host, `sha256sum ${IMG} | cut -d' ' -f1`);
    assert.match(await sh("gitlab", `wipefs --no-act --parsable /dev/vdb1`), /,drbd$/m);
    const before = await sum("gitlab");
    const again = await converge({ force: true });
    assert.deepEqual(changesOf(again), []);
    assert.equal(await sum("gitlab"), before, "a second run must not touch the metadata");

    // A disk that holds a file system and no DRBD metadata (say, a disk from another use).
    await sh("gitlab2", `wipefs -q -a ${IMG} && mkfs.ext4 -q -F ${IMG}`);
    const data = await sum("gitlab2");
    const refused = await converge({ force: true }).then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof StepError && refused.resource.name === "drbd-gitlab2-init", String(refused));
    assert.match((refused as Error).message, /holds data \(ext4 \) but no DRBD metadata: refusing/);
    assert.equal(await sum("gitlab2"), data, "the disk's data must be untouched");
  });
});
