// The switchover, failover and rejoin steps against real PostgreSQL 15 clusters in a temporary
// directory (loopback only): the order and checks of components/postgres/switchover.ts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseCheckpoint, parseSwitchover, SWITCHOVER_BODIES } from "../../components/postgres/switchover";
import { scramVerifier, SLOT_PREFIX } from "../../components/postgres/render";
import { requireTool } from "../helpers";
import { Bed, BIN, Cluster, HAVE_PG, primary, REPL_PASSWORD, standby, StepResult, waitFor, Writer } from "../pg-harness";
import { execFileSync } from "node:child_process";
import { validateConfig } from "../../components/config/load";
import { failover } from "../../components/postgres/failover";
import type { HostScript } from "../../components/host/script";
import * as fs from "node:fs";
import * as path from "node:path";

// .ci/setup installs PostgreSQL 15 and CI runs as root: there these suites never skip.
const skip = requireTool("PostgreSQL 15", HAVE_PG, "PostgreSQL 15 binaries under /usr/lib/postgresql/15/bin, run as root");
const changed = (r: StepResult) => r.stdout.split("\n").filter((l) => l.startsWith("gitlab-ha: changed: "));
const ok = (r: StepResult, what: string) => assert.equal(r.code, 0, `${what} failed:\n${r.stdout}${r.stderr}`);
const figures: string[] = [];

/** One planned switchover from `from` to `to`, step by step in the program's order. */
function switchover(bed: Bed, from: Cluster, to: Cluster, onStopped: () => void, others: Cluster[] = []): { plan: StepResult; steps: StepResult[] } {
  const standbys = [from, ...others];
  const peers = [to, ...standbys].map((c) => `${c.name}=127.0.0.1:${c.port}`);
  const common = { NEW_PRIMARY: to.name, DB_PEERS: peers, MAX_LAG_BYTES: 16 * 1024 * 1024, WAIT_SECONDS: 60, SLOTS: standbys.map((c) => `${SLOT_PREFIX}${c.name}`) };
  const plan = bed.step(SWITCHOVER_BODIES.check, to.vars(common));
  ok(plan, "check");
  const p = parseSwitchover(plan.stdout);
  const fromName = p?.from ?? "";
  // The stop step runs on every configured standby; only the old primary stops.
  const stops = standbys.map((c) => bed.step(SWITCHOVER_BODIES.stop, c.vars(common), `${fromName}\n${p?.resuming ? "resuming" : ""}\n`));
  stops.forEach((r) => ok(r, "stop"));
  const stop = stops[0]!;
  onStopped();
  const promote = bed.step(SWITCHOVER_BODIES.promote, to.vars(common), `${fromName}\n${parseCheckpoint(stops.map((r) => r.stdout))}\n`);
  ok(promote, "promote");
  const grants = bed.step(SWITCHOVER_BODIES.rewindRole, to.vars({ REPLICATION_USER: "backup" }));
  ok(grants, "rewind grants");
  // The rejoin step on every configured standby (the objects step made their slots, as promotion did).
  const rejoins = standbys.map((c) => bed.step(SWITCHOVER_BODIES.rejoin, c.vars({ ...rejoinVars(c, to) }), `${REPL_PASSWORD}\n`));
  rejoins.forEach((r) => ok(r, "rejoin"));
  return { plan, steps: [stop, promote, grants, rejoins[0]!, ...rejoins.slice(1)] };
}

const rejoinVars = (standbyHost: Cluster, primaryHost: Cluster) => ({
  WAIT_SECONDS: 20,
  NEW_PRIMARY: primaryHost.name,
  PRIMARY_HOST: "127.0.0.1",
  PRIMARY_PORT: primaryHost.port,
  REPLICATION_USER: "backup",
  SLOT: `${SLOT_PREFIX}${standbyHost.name}`,
  SLOT_PREFIX,
});

const streamsFrom = (s: Cluster, p: Cluster) =>
  p.sql(`SELECT count(*) FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE r.state = 'streaming' AND s.slot_name = '${SLOT_PREFIX}${s.name}'`) === "1" &&
  s.sql("SELECT pg_is_in_recovery()") === "t";

describe("planned switchover on real PostgreSQL", { skip }, () => {
  const bed = HAVE_PG ? new Bed() : (undefined as unknown as Bed);
  let a: Cluster, b: Cluster;
  before(async () => {
    a = await primary(bed, "pga");
    b = await standby(bed, "pgb", a);
    await waitFor("pgb streaming", () => streamsFrom(b, a));
  });
  after(() => bed.destroy([a, b].filter(Boolean)));

  it("moves the primary while a client writes: every committed row survives, the old primary streams from the new one on its own slot, a second run changes nothing, and switching back works the same way", async () => {
    for (const [pass, [from, to]] of ([[a, b], [b, a]] as const).entries()) {
      const writer = new Writer(from.port, 5, 2_000_000 + pass * 100_000);
      writer.start();
      await new Promise((r) => setTimeout(r, 500));
      const t0 = Date.now();
      // GitLab is re-pointed once the new primary is promoted (its db_host follows the primary).
      const { plan, steps } = switchover(bed, from, to, () => undefined);
      writer.repoint(to.port);
      const stepsMs = Date.now() - t0;
      assert.deepEqual(parseSwitchover(plan.stdout), { from: from.name, to: to.name, resuming: false });
      // pg_rewind decides: after a clean stop the old timeline usually is a prefix of the new one
      // ("no rewind required"); a once-promoted server may carry a minRecoveryPoint that makes it
      // copy the changed blocks anyway, which is as safe and still no full copy.
      const how = /\((no rewind needed|rewound with pg_rewind)\)/.exec(steps[3]!.stdout)?.[1];
      assert.ok(how, steps[3]!.stdout);
      await new Promise((r) => setTimeout(r, 500));
      await writer.stop();

      const committed = writer.committed.map((c) => c.id);
      const onNew = new Set(to.sql("SELECT string_agg(id::text, ',') FROM t").split(",").map(Number));
      const lost = committed.filter((id) => !onNew.has(id));
      assert.deepEqual(lost, [], "committed rows missing on the new primary");
      assert.ok(writer.committed.some((c) => c.port === to.port), "no row committed on the new primary");
      assert.equal(to.sql("SELECT pg_is_in_recovery()"), "f");
      await waitFor(`${from.name} streaming from ${to.name}`, () => streamsFrom(from, to));
      // The old primary's slot for the new one is gone; only the new primary holds a slot.
      assert.equal(from.sql(`SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE '${SLOT_PREFIX}%'`), "0");
      await waitFor("rows replayed on the old primary", () => from.sql("SELECT count(*) FROM t") === to.sql("SELECT count(*) FROM t"));
      figures.push(`planned ${from.name}->${to.name}: ${committed.length} rows committed, 0 lost, rejoin ${how}; write-unavailability window ${writer.longestGapMs()} ms (steps ${stepsMs} ms)`);

      // Second converge: every step finds the hosts as configured and changes nothing.
      const again = switchover(bed, from, to, () => undefined);
      assert.equal(parseSwitchover(again.plan.stdout), undefined);
      for (const s of [again.plan, ...again.steps]) assert.deepEqual(changed(s), [], s.stdout);
    }
  });

  it("refuses a switchover to a standby that lags beyond postgres.switchover.maxLagBytes, touching nothing", async () => {
    // Now a is the primary again and b its standby. Pause replay on b, write, let b receive it.
    b.sql("SELECT pg_wal_replay_pause()");
    try {
      a.sql("INSERT INTO t (id) SELECT g FROM generate_series(1000000, 1020000) g");
      const target = a.sql("SELECT pg_current_wal_lsn()");
      await waitFor("b received the WAL", () => b.sql(`SELECT latest_end_lsn >= '${target}' FROM pg_stat_wal_receiver`) === "t");
      const r = bed.step(SWITCHOVER_BODIES.check, b.vars({ NEW_PRIMARY: "pgb", DB_PEERS: [`pga=127.0.0.1:${a.port}`], MAX_LAG_BYTES: 1024 }));
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /pgb lags \d+ bytes of WAL behind pga, more than postgres\.switchover\.maxLagBytes \(1024\)/);
      assert.equal(a.sql("SELECT pg_is_in_recovery()"), "f");
    } finally {
      b.sql("SELECT pg_wal_replay_resume()");
    }
  });

  it("refuses to stop a primary the new primary does not stream from (two primaries), and to promote without the old primary's checkpoint", () => {
    const stop = bed.step(SWITCHOVER_BODIES.stop, a.vars({ NEW_PRIMARY: "pgc" }), "\n");
    assert.notEqual(stop.code, 0);
    assert.match(stop.stderr, /pga runs as a primary, but the config makes it a standby of pgc, .*refusing to empty it; set postgres\.rebuildStandbys\.pga/);
    assert.equal(a.sql("SELECT pg_is_in_recovery()"), "f");
    // A rebuild token not applied yet: the base backup step rebuilds it, these steps step aside.
    for (const [bodies, input] of [[SWITCHOVER_BODIES.stop, "\n"], [SWITCHOVER_BODIES.rejoin, `${REPL_PASSWORD}\n`]] as const) {
      const aside = bed.step(bodies, a.vars({ REBUILD_TOKEN: "t1", ...rejoinVars(a, b) }), input);
      ok(aside, "step with a rebuild token");
      assert.deepEqual(changed(aside), []);
    }
    assert.equal(a.sql("SELECT pg_is_in_recovery()"), "f");
    const promote = bed.step(SWITCHOVER_BODIES.promote, b.vars({ WAIT_SECONDS: 10 }), "pga\n\n");
    assert.notEqual(promote.code, 0);
    assert.match(promote.stderr, /refusing to promote/);
    assert.equal(b.sql("SELECT pg_is_in_recovery()"), "t");
  });

  it("refuses to demote a standby that the target streams from (a standby of a standby)", () => {
    const stop = bed.step(SWITCHOVER_BODIES.stop, b.vars({ NEW_PRIMARY: "pgc" }), "pgb\n");
    assert.notEqual(stop.code, 0);
    assert.match(stop.stderr, /pgc streams from pgb, which is itself a standby \(a standby of a standby\)/);
  });

  it("refuses to rejoin a host that still runs as a primary", () => {
    const r = bed.step(SWITCHOVER_BODIES.rejoin, a.vars(rejoinVars(a, b)), `${REPL_PASSWORD}\n`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pga runs as a primary while the config makes pgb the primary \(two primaries\)/);
  });

  it("refuses a stopped standby as the new primary", () => {
    b.ctl("stop");
    try {
      const r = bed.step(SWITCHOVER_BODIES.check, b.vars({ NEW_PRIMARY: "pgb", DB_PEERS: [], MAX_LAG_BYTES: 1 }));
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /is a stopped standby/);
    } finally {
      b.ctl("start");
    }
  });
});

describe("switchover with two standbys on real PostgreSQL", { skip }, () => {
  it("re-points the other standby to the new primary on its own slot there: it streams from it and receives its writes", async () => {
    const bed = new Bed();
    const a = await primary(bed, "pga");
    const clusters = [a];
    try {
      const b = await standby(bed, "pgb", a);
      const c = await standby(bed, "pgc", a);
      clusters.push(b, c);
      await waitFor("pgb and pgc streaming", () => streamsFrom(b, a) && streamsFrom(c, a));
      a.sql("INSERT INTO t (id) VALUES (1)");
      const { steps } = switchover(bed, a, b, () => undefined, [c]);
      assert.ok(changed(steps[4]!).some((l) => /re-pointed the standby pgc from 127\.0\.0\.1:\d+ to pgb on slot gitlab_ha_pgc/.test(l)), steps[4]!.stdout);
      await waitFor("pgc streaming from pgb", () => streamsFrom(c, b), 30);
      await waitFor("pga streaming from pgb", () => streamsFrom(a, b), 30);
      b.sql("INSERT INTO t (id) VALUES (2)");
      await waitFor("pgc has pgb's row", () => c.sql("SELECT count(*) FROM t WHERE id = 2") === "1");
      assert.equal(b.sql(`SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots`), "gitlab_ha_pga,gitlab_ha_pgc");
      // Second converge: nothing to re-point.
      const again = bed.step(SWITCHOVER_BODIES.rejoin, c.vars(rejoinVars(c, b)), `${REPL_PASSWORD}\n`);
      ok(again, "rejoin again");
      assert.deepEqual(changed(again), []);
    } finally {
      bed.destroy(clusters);
    }
  });
});

/** Fills the primary's WAL and checkpoints until segments before `lsn` are removed (no slot keeps them). */
function churnWal(c: Cluster, rounds = 6): void {
  for (let i = 0; i < rounds; i++) c.sql("CREATE TABLE IF NOT EXISTS churn (x text); INSERT INTO churn SELECT repeat(md5(g::text), 20) FROM generate_series(1, 20000) g; SELECT pg_switch_wal(); CHECKPOINT;");
}
const oldestSegment = (c: Cluster) => c.sql("SELECT min(name) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'");

describe("rejoin after an unplanned failover once the new primary recycled WAL (real PostgreSQL)", { skip }, () => {
  /** pga primary, pgb standby; pga writes a row pgb never gets, dies; pgb is promoted by db:failover's step. */
  async function failedOver(bed: Bed, o: { notify?: boolean } = {}) {
    // Small WAL limits so that a few checkpoints remove old segments.
    const a = await primary(bed, "pga", { conf: "min_wal_size = '32MB'\nmax_wal_size = '64MB'\nwal_keep_size = 0\n" });
    const b = await standby(bed, "pgb", a);
    if (o.notify) a.register({ notify: true });
    await waitFor("pgb streaming", () => streamsFrom(b, a));
    b.ctl("stop");
    a.sql("INSERT INTO t (id) VALUES (7)"); // committed on pga only: the histories diverge
    execFileSync("runuser", ["-u", "postgres", "--", `${BIN}/pg_ctl`, "-D", a.data, "-m", "immediate", "-w", "stop"]);
    b.ctl("start");
    const promote = bed.step(SWITCHOVER_BODIES.failoverPromote, b.vars({ WAIT_SECONDS: 60, SLOTS: [`${SLOT_PREFIX}pga`] }));
    ok(promote, "failover promote");
    ok(bed.step(SWITCHOVER_BODIES.rewindRole, b.vars({ REPLICATION_USER: "backup" })), "grants");
    return { a, b };
  }

  it("the old primary's slot, made at the promotion with its WAL reserved, keeps what it needs: after the WAL churns it rejoins and streams", async () => {
    const bed = new Bed();
    let cs: Cluster[] = [];
    try {
      const { a, b } = await failedOver(bed);
      cs = [a, b];
      const before = oldestSegment(b);
      churnWal(b);
      b.sql("INSERT INTO t (id) VALUES (-1)");
      const rejoin = bed.step(SWITCHOVER_BODIES.rejoin, a.vars(rejoinVars(a, b)), `${REPL_PASSWORD}\n`);
      ok(rejoin, "rejoin");
      assert.match(rejoin.stdout, /rejoined pga as a standby of pgb on slot gitlab_ha_pga \(rewound with pg_rewind\)/);
      await waitFor("pga streaming from pgb", () => streamsFrom(a, b), 30);
      await waitFor("pga has pgb's row", () => a.sql("SELECT count(*) FROM t WHERE id = -1") === "1");
      assert.equal(a.sql("SELECT count(*) FROM t WHERE id = 7"), "0", "pg_rewind discarded the row pgb never had");
      assert.equal(oldestSegment(b), before, "the slot kept the WAL from before the promotion");
    } finally {
      bed.destroy(cs);
    }
  });

  it("without that WAL it stops within postgres.switchover.waitSeconds, even with a unit whose start waits for ever (PGDG on EL), and says: behind the new primary's WAL, rebuild", async () => {
    const bed = new Bed();
    let cs: Cluster[] = [];
    try {
      const { a, b } = await failedOver(bed, { notify: true });
      cs = [a, b];
      // The slot is gone (dropped, or invalidated by max_slot_wal_keep_size): nothing keeps the WAL.
      b.sql(`SELECT pg_drop_replication_slot('${SLOT_PREFIX}pga')`);
      const before = oldestSegment(b);
      churnWal(b);
      assert.ok(oldestSegment(b) > before, "the WAL pga needs is gone");
      b.sql(`SELECT pg_create_physical_replication_slot('${SLOT_PREFIX}pga', true)`); // as the objects step does
      const t0 = Date.now();
      const run = bed.stepAsync(SWITCHOVER_BODIES.rejoin, a.vars({ ...rejoinVars(a, b), WAIT_SECONDS: 8 }), `${REPL_PASSWORD}\n`);
      const r = await Promise.race([run, new Promise<undefined>((res) => setTimeout(() => res(undefined), 60_000))]);
      assert.ok(r, "the rejoin step did not end within 60 s (a start that waits for ever)");
      assert.ok(Date.now() - t0 < 45_000, `bounded: ${Date.now() - t0} ms`);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /pga did not become ready within 8 s after the rejoin \(stopped again\): its recovery starts at [0-9A-F]+\/[0-9A-F]+ and it is behind the new primary's WAL: .*set postgres\.rebuildStandbys\.pga to a new token/);
      assert.doesNotMatch(r.stderr, /two primaries/);
    } finally {
      bed.destroy(cs);
    }
  });
});

describe("service step with a unit whose start waits for ever (PGDG on EL)", { skip }, () => {
  it("a standby that never accepts connections fails the step within pg_wait_ready's bound instead of hanging the converge", async () => {
    const bed = new Bed();
    const a = await primary(bed, "pga");
    const cs = [a];
    try {
      const b = await standby(bed, "pgb", a);
      cs.push(b);
      b.ctl("stop", "-m", "fast");
      // Never consistent for clients: hot_standby off keeps it rejecting connections.
      fs.appendFileSync(path.join(b.data, "postgresql.auto.conf"), "hot_standby = off\n");
      b.register({ notify: true });
      const t0 = Date.now();
      const run = bed.stepAsync(["components/postgres/scripts/server-lib.sh", "components/postgres/scripts/service.sh"], b.vars({ PG_VERSION: "15", OS_FAMILY: "dnf" }));
      const r = await Promise.race([run, new Promise<undefined>((res) => setTimeout(() => res(undefined), 100_000))]);
      assert.ok(r, "the service step did not end within 100 s (a blocking start)");
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /pg-pgb did not accept connections within 60 s/);
      assert.ok(Date.now() - t0 < 90_000);
    } finally {
      bed.destroy(cs);
    }
  });
});

describe("switchover to a standby that does not stream (real PostgreSQL)", { skip }, () => {
  const bed = HAVE_PG ? new Bed() : (undefined as unknown as Bed);
  let a: Cluster, b: Cluster;
  const common = () => ({ NEW_PRIMARY: "pgb", DB_PEERS: [`pga=127.0.0.1:${a.port}`, `pgb=127.0.0.1:${b.port}`], MAX_LAG_BYTES: 16 * 1024 * 1024, WAIT_SECONDS: 20, SLOTS: [`${SLOT_PREFIX}pga`] });
  const marker = () => path.join(bed.root, ".pgb.gitlab-ha-switchover");
  /** Points pgb's WAL receiver at a port nobody listens on: a standby that lost its primary. */
  let conninfo = "";
  const cutOff = (on: boolean) => {
    if (on) conninfo = b.sql("SHOW primary_conninfo");
    b.sql(`ALTER SYSTEM SET primary_conninfo = '${on ? "host=127.0.0.1 port=1 user=backup" : conninfo.replace(/'/g, "''")}'`);
    b.sql("SELECT pg_reload_conf()");
  };
  before(async () => {
    a = await primary(bed, "pga");
    b = await standby(bed, "pgb", a);
    await waitFor("pgb streaming", () => streamsFrom(b, a));
  });
  after(() => bed.destroy([a, b].filter(Boolean)));

  it("refuses before anything stops when the target does not stream (no switchover under way): the old primary keeps running", async () => {
    cutOff(true);
    try {
      await waitFor("pgb not streaming", () => b.sql("SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'") === "0");
      const r = bed.step(SWITCHOVER_BODIES.check, b.vars(common()));
      assert.notEqual(r.code, 0, r.stdout);
      assert.equal(parseSwitchover(r.stdout), undefined);
      assert.match(r.stderr, /pgb does not stream from its primary .*would stop production and then fail, so nothing was touched.*postgres\.rebuildStandbys\.pgb/);
      assert.ok(!fs.existsSync(marker()));
      assert.equal(a.sql("SELECT pg_is_in_recovery()"), "f", "pga still the running primary");
      // A marker left from a switchover that never stopped pga: the check resumes, but the stop
      // step refuses to stop a primary the target cannot follow.
      fs.writeFileSync(marker(), "pga\n");
      const resumed = bed.step(SWITCHOVER_BODIES.check, b.vars(common()));
      ok(resumed, "check with a marker");
      assert.deepEqual(parseSwitchover(resumed.stdout), { from: "pga", to: "pgb", resuming: true });
      const stop = bed.step(SWITCHOVER_BODIES.stop, a.vars(common()), "pga\nresuming\n");
      assert.notEqual(stop.code, 0);
      assert.match(stop.stderr, /refusing to stop pga, which still runs as the primary/);
      assert.equal(a.sql("SELECT pg_is_in_recovery()"), "f", "pga not stopped");
      fs.rmSync(marker());
    } finally {
      cutOff(false);
    }
    await waitFor("pgb streaming again", () => streamsFrom(b, a) && b.sql("SELECT latest_end_lsn IS NOT NULL FROM pg_stat_wal_receiver") === "t");
  });

  it("resumes a switchover interrupted after the old primary stopped, from its marker, and removes the marker once promoted", () => {
    const check = bed.step(SWITCHOVER_BODIES.check, b.vars(common()));
    ok(check, "check");
    assert.deepEqual(parseSwitchover(check.stdout), { from: "pga", to: "pgb", resuming: false });
    assert.equal(fs.readFileSync(marker(), "utf8"), "pga\n", "marker written when the switchover starts");
    ok(bed.step(SWITCHOVER_BODIES.stop, a.vars(common()), "pga\n\n"), "stop");
    // Interrupted here (the promotion step never ran). The next converge:
    const again = bed.step(SWITCHOVER_BODIES.check, b.vars(common()));
    ok(again, "check again");
    assert.deepEqual(parseSwitchover(again.stdout), { from: "pga", to: "pgb", resuming: true });
    const stop = bed.step(SWITCHOVER_BODIES.stop, a.vars(common()), "pga\nresuming\n");
    ok(stop, "stop again");
    const promote = bed.step(SWITCHOVER_BODIES.promote, b.vars(common()), `pga\n${parseCheckpoint([stop.stdout])}\n`);
    ok(promote, "promote");
    assert.equal(b.sql("SELECT pg_is_in_recovery()"), "f");
    assert.ok(!fs.existsSync(marker()), "marker removed once promoted");
    const done = bed.step(SWITCHOVER_BODIES.check, b.vars(common()));
    ok(done, "check after");
    assert.equal(parseSwitchover(done.stdout), undefined);
  });
});

describe("unplanned failover and pg_rewind on real PostgreSQL", { skip }, () => {
  for (const sync of [false, true]) {
    it(`${sync ? "synchronous" : "asynchronous"}: hard stop of the primary, promotion, rows counted; the old primary rejoins with pg_rewind`, async () => {
      const bed = new Bed();
      const a = await primary(bed, "pga");
      let b: Cluster | undefined;
      try {
        // Some data, so that rewind and base backup have something to copy.
        a.sql("CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 150000) g");
        b = await standby(bed, "pgb", a);
        await waitFor("pgb streaming", () => streamsFrom(b!, a));
        if (sync) {
          // What renderPostgresConf writes for postgres.synchronous (set once a standby streams:
          // with none, every commit would wait).
          a.sql("ALTER SYSTEM SET synchronous_standby_names = '*'");
          a.sql("ALTER SYSTEM SET synchronous_commit = 'on'");
          a.sql("SELECT pg_reload_conf()");
          await waitFor("pgb synchronous", () => a.sql("SELECT sync_state FROM pg_stat_replication") === "sync");
        }
        const writer = new Writer(a.port, 2);
        writer.start();
        await new Promise((r) => setTimeout(r, 1500));
        // The primary host dies: no shutdown checkpoint, walsenders send nothing more.
        execFileSync("runuser", ["-u", "postgres", "--", `${BIN}/pg_ctl`, "-D", a.data, "-m", "immediate", "-w", "stop"]);
        await writer.stop();
        const probe = bed.step(SWITCHOVER_BODIES.probe, b.vars());
        ok(probe, "probe");
        assert.match(probe.stdout, /^role=standby /);
        const promote = bed.step(SWITCHOVER_BODIES.failoverPromote, b.vars({ WAIT_SECONDS: 60, SLOTS: [`${SLOT_PREFIX}pga`] }));
        ok(promote, "failover promote");
        assert.deepEqual(changed(promote).map((l) => l.replace(/ at .*/, "")), ["gitlab-ha: changed: created replication slot gitlab_ha_pga on pgb with its WAL reserved", "gitlab-ha: changed: promoted pgb to primary"]);
        const onNew = new Set(b.sql("SELECT coalesce(string_agg(id::text, ','), '') FROM t").split(",").map(Number));
        const lost = writer.committed.filter((c) => !onNew.has(c.id)).length;
        figures.push(`unplanned (${sync ? "sync" : "async"}): ${writer.committed.length} rows committed before the hard stop, ${lost} lost`);
        if (sync) assert.equal(lost, 0, "synchronous replication lost committed rows");
        // Writes on the new primary move it past the fork point.
        b.sql("INSERT INTO t (id) VALUES (-1)");

        bed.step(SWITCHOVER_BODIES.rewindRole, b.vars({ REPLICATION_USER: "backup" }));
        const t0 = Date.now();
        const rejoin = bed.step(SWITCHOVER_BODIES.rejoin, a.vars(rejoinVars(a, b)), `${REPL_PASSWORD}\n`);
        const rewindMs = Date.now() - t0;
        ok(rejoin, "rejoin");
        assert.match(rejoin.stdout, /rejoined pga as a standby of pgb on slot gitlab_ha_pga \((rewound with pg_rewind|no rewind needed)\)/);
        await waitFor("pga streaming from pgb", () => streamsFrom(a, b!));
        await waitFor("pga has pgb's row", () => a.sql("SELECT count(*) FROM t WHERE id = -1") === "1");
        // The same database copied in full, for comparison.
        const copy = path.join(bed.root, "copy");
        const t1 = Date.now();
        execFileSync("runuser", ["-u", "postgres", "--", `${BIN}/pg_basebackup`, "-D", copy, "-h", "127.0.0.1", "-p", String(b.port), "-U", "backup", "-X", "stream", "--checkpoint=fast"]);
        const baseMs = Date.now() - t1;
        const size = execFileSync("du", ["-sm", copy], { encoding: "utf8" }).split("\t")[0];
        figures.push(`rejoin (${sync ? "sync" : "async"}): ${/rewound/.test(rejoin.stdout) ? "pg_rewind" : "no rewind needed"} ${rewindMs} ms (rejoin step incl. start) vs pg_basebackup of the same ${size} MB ${baseMs} ms`);
        // A second run changes nothing.
        assert.deepEqual(changed(bed.step(SWITCHOVER_BODIES.rejoin, a.vars(rejoinVars(a, b)), `${REPL_PASSWORD}\n`)), []);
      } finally {
        bed.destroy([a, ...(b ? [b] : [])]);
      }
    });
  }

  it("refuses to rejoin a former primary with neither data checksums nor wal_log_hints, pointing at the rebuild token", async () => {
    const bed = new Bed();
    const a = await primary(bed, "pga", { checksums: false });
    try {
      a.ctl("stop");
      const r = bed.step(SWITCHOVER_BODIES.rejoin, a.vars(rejoinVars(a, a)), `${REPL_PASSWORD}\n`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /neither data checksums nor wal_log_hints = on; set postgres\.rebuildStandbys\.pga/);
      assert.ok(!fs.existsSync(path.join(a.data, "standby.signal")));
    } finally {
      bed.destroy([a]);
    }
  });
});

/** The primary's objects step as primary.ts renders it, on a test cluster. */
export const objectsStep = (bed: Bed, c: Cluster, slots: string[]) =>
  bed.stepAsync(
    ["components/postgres/scripts/objects.sh"],
    { BINDIR: BIN, PG_PORT: c.port, HOST_NAME: c.name, DATABASE: "gitlabhq_production", GITLAB_USER: "gitlab", GITLAB_CREATEDB: false, REPLICATION_USER: "backup", EXTENSIONS: ["pg_trgm", "btree_gist"], SLOT_PREFIX, SLOTS: slots },
    `${scramVerifier(REPL_PASSWORD, "backup")}\n${scramVerifier("gitlab-Secret-1", "gitlab")}\n`,
  );

describe("synchronous replication before any standby streams (real PostgreSQL)", { skip }, () => {
  it("the objects step (roles, password, database, extensions, slots) finishes with synchronous_standby_names = '*' and no standby: no commit of the program waits on SyncRep", async () => {
    const bed = new Bed();
    // postgres.synchronous as renderPostgresConf writes it, on a primary nobody streams from yet.
    const a = await primary(bed, "pga");
    try {
      a.sql("ALTER SYSTEM SET synchronous_standby_names = '*'");
      a.sql("SELECT pg_reload_conf()");
      await waitFor("synchronous_standby_names applied", () => a.sql("SHOW synchronous_standby_names") === "*");
      const run = objectsStep(bed, a, [`${SLOT_PREFIX}pgb`]);
      let done: StepResult | undefined;
      void run.then((r) => (done = r));
      const t0 = Date.now();
      let waited = false;
      while (!done) {
        await new Promise((r) => setTimeout(r, 100));
        // A commit waiting for a standby that is not there: the old deadlock. End it so the test ends.
        if (Date.now() - t0 > 3000 && a.sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'") !== "0") {
          waited = true;
          a.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'");
        }
      }
      assert.equal(waited, false, "a commit of the objects step waited on SyncRep (synchronous replication without a standby)");
      ok(done, "objects");
      assert.ok(changed(done).some((l) => /created role gitlab/.test(l)), done.stdout);
      assert.equal(a.sql("SELECT count(*) FROM pg_database WHERE datname = 'gitlabhq_production'"), "1");
      // GitLab's own commits still wait for a standby: the setting applies to the program's sessions only.
      assert.equal(a.sql("SHOW synchronous_commit"), "on");
      // Second run (a password change takes the same path): changes nothing, waits for nothing.
      const again = await objectsStep(bed, a, [`${SLOT_PREFIX}pgb`]);
      ok(again, "objects again");
      assert.deepEqual(changed(again), []);
    } finally {
      bed.destroy([a]);
    }
  });
});

describe("GitLab hook around a switchover (stand-in systemctl and docker)", { skip }, () => {
  it("stops GitLab only when a switchover is due and starts exactly what it stopped", () => {
    const bed = new Bed();
    try {
      const state = path.join(bed.root, "state");
      fs.mkdirSync(state);
      // docker stand-in: one container whose running state is a file.
      fs.writeFileSync(
        path.join(bed.bin, "docker"),
        `#!/bin/bash\nf=${bed.root}/container-running\necho "docker $*" >>${bed.units}/calls\ncase $1 in\n  inspect) [ -f "$f" ] && echo true || echo false ;;\n  stop) rm -f "$f" ;;\n  start) touch "$f" ;;\nesac\n`,
        { mode: 0o755 },
      );
      fs.writeFileSync(path.join(bed.root, "container-running"), "");
      fs.writeFileSync(path.join(bed.units, "gitlab-container.service.active"), "");
      const vars = (mode: string, action: string) => ({ ACTION: action, MODE: mode, GITLAB_UNIT: "gitlab-container.service", CONTAINER: "gitlab", HOST_NAME: "g1", STATE_DIR: state });
      const hook = (mode: string, action: string, plan: string) => bed.step(SWITCHOVER_BODIES.gitlab, vars(mode, action), `${plan}\n`);
      for (const mode of ["container", "unit"]) {
        const isUp = () => (mode === "unit" ? fs.existsSync(path.join(bed.units, "gitlab-container.service.active")) : fs.existsSync(path.join(bed.root, "container-running")));
        assert.deepEqual(changed(hook(mode, "stop", "")), [], "no switchover: nothing stopped");
        assert.ok(isUp());
        const stop = hook(mode, "stop", "pga -> pgb");
        ok(stop, "stop");
        assert.equal(changed(stop).length, 1);
        assert.ok(!isUp(), `${mode}: GitLab still up`);
        const start = hook(mode, "start", "pga -> pgb");
        assert.equal(changed(start).length, 1);
        assert.ok(isUp(), `${mode}: GitLab not started again`);
        assert.deepEqual(changed(hook(mode, "start", "pga -> pgb")), [], "second start changes nothing");
      }
    } finally {
      bed.destroy([]);
    }
  });
});

describe("npm run db:failover on real PostgreSQL", { skip }, () => {
  const config = () =>
    validateConfig({
      values: {
        hosts: [
          { name: "pga", address: "127.0.0.1", roles: ["postgres-primary"] },
          { name: "pgb", address: "127.0.0.2", roles: ["postgres-standby"] },
          { name: "gl1", address: "127.0.0.3", roles: ["gitlab"] },
        ],
        ssh: { agent: true },
        firewall: { adminNetworks: ["127.0.0.0/8"] },
        postgres: { version: 15 },
        gitlab: { version: "17.11.7", externalUrl: "https://gitlab.example.com" },
      },
      secretKeys: new Set(),
    }).config;

  it("refuses to promote a host that is not a standby, and while the old primary answers as a primary or does not answer unless it is named fenced; then promotes and prints the role swap", async () => {
    const bed = new Bed();
    const a = await primary(bed, "pga");
    let b: Cluster | undefined;
    try {
      b = await standby(bed, "pgb", a);
      await waitFor("pgb streaming", () => streamsFrom(b!, a));
      const byName: Record<string, Cluster> = { pga: a, pgb: b };
      const down = new Set<string>();
      // The stack's SSH run, here: the step on the test cluster the host name stands for.
      const run = async (host: string, script: Omit<HostScript, "host">) => {
        if (down.has(host)) throw new Error(`${host}: ssh: connect to host: No route to host`);
        const r = bed.step(script.bodies, { ...script.vars, ...byName[host]!.vars() });
        if (r.code !== 0) throw new Error(`${host}: ${script.description} failed:\n${r.stderr}`);
        return r.stdout;
      };
      const base = { config: config(), run, stack: "lab" };
      await assert.rejects(failover({ ...base, promote: "pga" }), /hosts\[0\]\.roles: pga does not have role postgres-standby/);
      await assert.rejects(failover({ ...base, promote: "gl9" }), /no such host/);
      await assert.rejects(failover({ ...base, promote: "pgb" }), /pga still answers as a primary: promoting pgb now would make two primaries/);
      assert.equal(b.sql("SELECT pg_is_in_recovery()"), "t", "nothing promoted");
      await assert.rejects(failover({ ...base, promote: "pgb", fenced: "pgx" }), /the configured primary is pga/);

      // The primary's host is lost: unreachable over SSH.
      execFileSync("runuser", ["-u", "postgres", "--", `${BIN}/pg_ctl`, "-D", a.data, "-m", "immediate", "-w", "stop"]);
      down.add("pga");
      // Unreachable is not down (a partition looks the same): refused until the operator fences it.
      await assert.rejects(failover({ ...base, promote: "pgb" }), /pga does not answer \(pga: ssh: connect to host: No route to host\), which does not mean it is down.*Fence it first \(its GitLab stopped, and its PostgreSQL stopped or cut off.*--fenced pga/s);
      assert.equal(b.sql("SELECT pg_is_in_recovery()"), "t", "nothing promoted while pga is only unreachable");
      const log: string[] = [];
      const r = await failover({ ...base, promote: "pgb", fenced: "pga", log: (l) => log.push(l) });
      assert.equal(r.oldRole, "unreachable");
      assert.equal(r.promoted, true);
      assert.equal(b.sql("SELECT pg_is_in_recovery()"), "f");
      assert.match(r.configChange, /pulumi config set --stack lab --path 'gitlab-ha:hosts\[1\]\.roles\[0\]' postgres-primary/);
      assert.match(r.configChange, /pulumi config set --stack lab --path 'gitlab-ha:hosts\[0\]\.roles\[0\]' postgres-standby/);
      assert.ok(log.some((l) => /pgb: promoted pgb to primary/.test(l)), log.join("\n"));
      assert.match(r.configChange, /pga does not answer: until it is back, take it out of hosts\[0\]/);
      // Run again: already primary, nothing promoted twice.
      const again = await failover({ ...base, promote: "pgb", fenced: "pga" });
      assert.equal(again.promoted, false);
    } finally {
      bed.destroy([a, ...(b ? [b] : [])]);
    }
  });

  it("promotes while the old primary still answers when the operator names it fenced", async () => {
    const bed = new Bed();
    const a = await primary(bed, "pga");
    let b: Cluster | undefined;
    try {
      b = await standby(bed, "pgb", a);
      await waitFor("pgb streaming", () => streamsFrom(b!, a));
      const byName: Record<string, Cluster> = { pga: a, pgb: b };
      const run = async (host: string, script: Omit<HostScript, "host">) => {
        const r = bed.step(script.bodies, { ...script.vars, ...byName[host]!.vars() });
        if (r.code !== 0) throw new Error(r.stderr);
        return r.stdout;
      };
      const r = await failover({ config: config(), run, stack: "lab", promote: "pgb", fenced: "pga" });
      assert.equal(r.oldRole, "primary");
      assert.equal(r.promoted, true);
      assert.equal(b.sql("SELECT pg_is_in_recovery()"), "f");
    } finally {
      bed.destroy([a, ...(b ? [b] : [])]);
    }
  });
});

after(() => {
  if (figures.length) process.stdout.write(`# switchover figures:\n${figures.map((f) => `#   ${f}`).join("\n")}\n`);
});
