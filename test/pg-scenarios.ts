// Database DR scenarios measured by `npm run bench` (figures, not tests): the project's own
// switchover and failover steps on throw-away PostgreSQL 15 clusters (test/pg-harness.ts), with a
// client writing numbered rows; a row counts as committed when the server returned its id.
import { execFileSync } from "node:child_process";
import { SLOT_PREFIX } from "../components/postgres/render";
import { parseCheckpoint, parseSwitchover, SWITCHOVER_BODIES } from "../components/postgres/switchover";
import { validateConfig } from "../components/config/load";
import type { HostScript } from "../components/host/script";
import { failover } from "../components/postgres/failover";
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

/**
 * The runbook's partition: the operator cannot reach the old primary, GitLab still writes to it.
 * `fenced`: GitLab is stopped first and the operator names the old primary with --fenced (rows
 * lost: what GitLab committed that the standby never received). Otherwise db:failover refuses,
 * and `lost` counts what promoting anyway (the old behaviour) would have lost: the rows GitLab
 * committed on the old primary after the promotion, which pg_rewind discards.
 */
export async function partitionFailover(fenced: boolean): Promise<DrFigure & { refused: boolean }> {
  const bed = new Bed();
  const a = await primary(bed, "pga");
  const cs = [a];
  try {
    const b = await standby(bed, "pgb", a);
    cs.push(b);
    await waitFor("pgb streaming", () => streams(b, a));
    const config = validateConfig({
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
    const byName: Record<string, Cluster> = { pga: a, pgb: b };
    const run = async (host: string, script: Omit<HostScript, "host">) => {
      if (host === "pga") throw new Error("pga: ssh: connect to host: Connection timed out");
      return must(bed.step(script.bodies, { ...script.vars, ...byName[host]!.vars() }), script.description).stdout;
    };
    const writer = new Writer(a.port, 2);
    writer.start();
    await new Promise((r) => setTimeout(r, 1000));
    if (fenced) await writer.stop(); // GitLab stopped: the fencing --fenced stands for
    let refused = false;
    try {
      await failover({ config, run, stack: "bench", promote: "pgb", ...(fenced ? { fenced: "pga" } : {}) });
    } catch {
      refused = true;
      // What the old code did here: promote anyway while GitLab keeps writing to pga.
      must(bed.step(SWITCHOVER_BODIES.failoverPromote, b.vars({ WAIT_SECONDS: 60, SLOTS: [] })), "promote");
      await new Promise((r) => setTimeout(r, 1000));
      await writer.stop();
    }
    return { committed: writer.committed.length, lost: lostOn(b, writer), refused };
  } finally {
    bed.destroy(cs);
  }
}
