// Database DR scenarios measured by `npm run bench` (figures, not tests): the project's own
// switchover and failover steps on throw-away PostgreSQL 15 clusters (test/pg-harness.ts), with a
// client writing numbered rows; a row counts as committed when the server returned its id.
import { execFileSync } from "node:child_process";
import { SLOT_PREFIX } from "../components/postgres/render";
import { parseCheckpoint, parseSwitchover, SWITCHOVER_BODIES } from "../components/postgres/switchover";
import { Bed, BIN, Cluster, primary, standby, StepResult, waitFor, Writer } from "./pg-harness";

export interface DrFigure {
  readonly committed: number;
  readonly lost: number;
  /** Longest time between two committed rows (planned switchover only). */
  readonly windowMs?: number;
}

const must = (r: StepResult, what: string): StepResult => {
  if (r.code !== 0) throw new Error(`${what} failed:\n${r.stdout}${r.stderr}`);
  return r;
};
const streams = (s: Cluster, p: Cluster) => p.sql(`SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND application_name <> 'pg_basebackup'`) !== "0" && s.sql("SELECT pg_is_in_recovery()") === "t";
const lostOn = (c: Cluster, w: Writer) => {
  const have = new Set(c.sql("SELECT coalesce(string_agg(id::text, ','), '') FROM t").split(",").map(Number));
  return w.committed.filter((x) => !have.has(x.id)).length;
};

/** Planned switchover pga -> pgb while a client writes; GitLab (the client) re-pointed after promotion. */
export async function plannedSwitchover(): Promise<DrFigure> {
  const bed = new Bed();
  const a = await primary(bed, "pga");
  const cs = [a];
  try {
    const b = await standby(bed, "pgb", a);
    cs.push(b);
    await waitFor("pgb streaming", () => streams(b, a) && b.sql("SELECT latest_end_lsn IS NOT NULL FROM pg_stat_wal_receiver") === "t");
    const writer = new Writer(a.port, 5);
    writer.start();
    await new Promise((r) => setTimeout(r, 1000));
    const common = { NEW_PRIMARY: "pgb", DB_PEERS: [`pga=127.0.0.1:${a.port}`, `pgb=127.0.0.1:${b.port}`], MAX_LAG_BYTES: 16 * 1024 * 1024, WAIT_SECONDS: 60, SLOTS: [`${SLOT_PREFIX}pga`] };
    const plan = parseSwitchover(must(bed.step(SWITCHOVER_BODIES.check, b.vars(common)), "check").stdout);
    if (!plan) throw new Error("no switchover planned");
    const stop = must(bed.step(SWITCHOVER_BODIES.stop, a.vars(common), "pga\n\n"), "stop");
    must(bed.step(SWITCHOVER_BODIES.promote, b.vars(common), `pga\n${parseCheckpoint([stop.stdout])}\n`), "promote");
    writer.repoint(b.port);
    await new Promise((r) => setTimeout(r, 1000));
    await writer.stop();
    return { committed: writer.committed.length, lost: lostOn(b, writer), windowMs: writer.longestGapMs() };
  } finally {
    bed.destroy(cs);
  }
}

/** Unplanned: the primary dies (immediate stop) while a client writes; db:failover's promotion. */
export async function unplannedFailover(sync: boolean): Promise<DrFigure> {
  const bed = new Bed();
  const a = await primary(bed, "pga");
  const cs = [a];
  try {
    const b = await standby(bed, "pgb", a);
    cs.push(b);
    await waitFor("pgb streaming", () => streams(b, a));
    if (sync) {
      a.sql("ALTER SYSTEM SET synchronous_standby_names = '*'");
      a.sql("SELECT pg_reload_conf()");
      await waitFor("pgb synchronous", () => a.sql("SELECT sync_state FROM pg_stat_replication") === "sync");
    }
    const writer = new Writer(a.port, 2);
    writer.start();
    await new Promise((r) => setTimeout(r, 1500));
    execFileSync("runuser", ["-u", "postgres", "--", `${BIN}/pg_ctl`, "-D", a.data, "-m", "immediate", "-w", "stop"]);
    await writer.stop();
    must(bed.step(SWITCHOVER_BODIES.failoverPromote, b.vars({ WAIT_SECONDS: 60, SLOTS: [`${SLOT_PREFIX}pga`] })), "promote");
    return { committed: writer.committed.length, lost: lostOn(b, writer) };
  } finally {
    bed.destroy(cs);
  }
}
