// PostgreSQL for GitLab: the managed settings sized from the topology (checked by a real
// PostgreSQL 15 reading the rendered file), the PostgreSQL version bound from the pg_dump GitLab
// bundles, a lost slot recreated on rebuild and the streaming proof, run against throw-away
// clusters on Unix sockets in a temporary directory.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { crossKeyIssues } from "../../components/config/rules";
import { renderScript } from "../../components/host/script";
import { run } from "../../components/offline/run";
import { bundledPostgresFor } from "../../components/postgres/gitlab-pg-clients";
import { deriveLabValues } from "../../components/lab/slots";
import { requiredConnections } from "../../components/postgres/sizing";
import { readStackFile } from "../../components/offline/stack-file";
import { byName, evaluateStack, gitlabRbOf, requireTool, ROOT, rubySettings } from "../helpers";
import { BIN, HAVE_PG } from "../pg-harness";

const skip = requireTool("PostgreSQL 15", HAVE_PG, "PostgreSQL 15 binaries under /usr/lib/postgresql/15/bin, run as root");
type Evaluation = Awaited<ReturnType<typeof evaluateStack>>;
const confOf = (e: Evaluation, host: string) => String(byName(e, `postgres-${host}-conf`).display.content);
const settingsOf = (conf: string) =>
  new Map(conf.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(" = ") as [string, string]));
let labEvaluation: Promise<Evaluation> | undefined;
/** The lab stack as the program evaluates it (once: evaluations are slow). */
const lab = () => (labEvaluation ??= evaluateStack("lab"));
/** The lab stack's config keys, as the program reads them. */
function labConfig(): Record<string, Record<string, unknown> & Record<string, unknown>[]> {
  const parse = (v: string) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  };
  return Object.fromEntries(
    Object.entries(readStackFile(ROOT, "lab").config)
      .filter(([k]) => k.startsWith("gitlab-ha:"))
      .map(([k, v]) => [k.slice("gitlab-ha:".length), parse(v)]),
  ) as never;
}
/** tune.md's formula: per node Puma workers x (threads + 10) + Sidekiq (concurrency + 1 + 10); two sets; 20 for admin. */
const need = (workersPerNode: number[]) => 2 * workersPerNode.reduce((n, w) => n + w * (4 + 10) + (20 + 1 + 10), 0) + 20;

describe("PostgreSQL sized for GitLab", () => {
  it("derives max_connections, memory and timeout settings from the GitLab nodes, identical on every database host", async () => {
    const e = await lab();
    const primary = confOf(e, "pgsql");
    assert.equal(confOf(e, "pgsq2"), primary, "the standby's file equals the primary's");
    const s = settingsOf(primary);
    // Two DRBD GitLab nodes (one runs at a time) of unknown size: 8 Puma workers (the tune doc's example node).
    assert.equal(need([8]), 306);
    assert.equal(s.get("max_connections"), "400", "tune.md's minimum");
    assert.equal(s.get("shared_buffers"), "'2048MB'");
    assert.equal(s.get("work_mem"), "'16MB'");
    assert.equal(s.get("maintenance_work_mem"), "'64MB'");
    assert.equal(s.get("statement_timeout"), "60000");
    assert.equal(s.get("wal_log_hints"), "on");
    for (const k of ["max_connections", "max_prepared_transactions", "max_locks_per_transaction", "max_wal_senders", "max_worker_processes"]) {
      assert.ok(s.has(k), `${k}: a hot standby needs it no lower than its primary's, so it is set explicitly`);
    }
  });

  it("follows the nodes' CPUs and memory, Puma and Sidekiq keys, and the database hosts' memory", async () => {
    const cfg = labConfig();
    const hosts = (cfg.hosts as unknown as Record<string, unknown>[]).map((h) =>
      h.name === "gitlab" ? { ...h, cpus: 16, memoryMiB: 32768 } : h.name === "gitlab2" ? { ...h, cpus: 24, memoryMiB: 32768 } : h.name === "pgsql" ? { ...h, memoryMiB: 65536 } : h.name === "pgsq2" ? { ...h, memoryMiB: 32768 } : h,
    );
    const s = settingsOf(confOf(await evaluateStack("lab", { overrides: { hosts } }), "pgsql"));
    // gitlab: min(16 CPUs, (32768 - 1536) / 1024 = 30) = 16 workers; gitlab2: min(24, 30) = 24. DRBD
    // nodes share one gitlab.rb (the smaller count, 16) and run GitLab one at a time.
    assert.equal(s.get("max_connections"), String(need([16])));
    assert.equal(s.get("shared_buffers"), "'8192MB'", "a quarter of the smaller database host");
    assert.equal(s.get("maintenance_work_mem"), "'1024MB'");

    const gitlab = { ...cfg.gitlab, puma: { workerProcesses: 24, maxThreads: 6 }, sidekiq: { concurrency: 40 } };
    const t = settingsOf(confOf(await evaluateStack("lab", { overrides: { hosts, gitlab } }), "pgsql"));
    assert.equal(t.get("max_connections"), String(2 * (24 * (6 + 10) + (40 + 1 + 10)) + 20));
    // Without DRBD both nodes serve at once.
    const plain = [{ name: "a", cpus: 16, memoryMiB: 32768 }, { name: "b", cpus: 4, memoryMiB: 4096 }];
    assert.equal(requiredConnections({ nodes: plain, puma: { maxThreads: 4 }, sidekiq: { concurrency: 20 } }), need([16, 2]));
  });

  it("lets postgres.settings override a managed default, once, and refuses max_connections below GitLab's need", async () => {
    const cfg = labConfig();
    const pg = cfg.postgres;
    const e = await evaluateStack("lab", { overrides: { postgres: { ...pg, settings: { max_connections: 900, statement_timeout: "30s" } } } });
    const conf = confOf(e, "pgsql");
    assert.equal(conf.split("\n").filter((l) => l.startsWith("max_connections")).length, 1);
    assert.equal(settingsOf(conf).get("max_connections"), "900");
    assert.equal(settingsOf(conf).get("statement_timeout"), "'30s'");

    // As the loader hands it to the rules: with the lab stack's derived addresses and ports.
    const input = deriveLabValues({ ...cfg, postgres: { ...pg, settings: { max_connections: 200 } } }, { project: "gitlab-ha", stack: "lab" }, () => undefined);
    const issues = crossKeyIssues(input, new Set());
    const mine = issues.find((i) => i.path === "postgres.settings.max_connections");
    assert.ok(mine, JSON.stringify(issues));
    assert.match(mine.message, /^200 is below the 400 GitLab needs here: 1 GitLab node\(s\) at a time, two connection sets/);
    assert.deepEqual(crossKeyIssues({ ...input, postgres: { ...pg, settings: { wal_log_hints: false } } }, new Set()).map((i) => i.path), ["postgres.settings.wal_log_hints"]);
  });

  it("caps the WAL a slot may keep by default", async () => {
    const s = settingsOf(confOf(await evaluateStack("prod"), "pgsql"));
    assert.equal(s.get("max_slot_wal_keep_size"), "'16GB'");
  });

  describe("read by PostgreSQL 15", { skip }, () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-ha-pgconf-"));
      fs.chmodSync(dir, 0o755);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("accepts every rendered setting with the value the program meant", async () => {
      const conf = confOf(await lab(), "pgsql");
      fs.writeFileSync(path.join(dir, "postgresql.conf"), conf);
      execFileSync("chown", ["-R", "postgres", dir]);
      const show = (name: string) => execFileSync("runuser", ["-u", "postgres", "--", `${BIN}/postgres`, "-C", name, "-D", dir], { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] }).trim();
      const s = settingsOf(conf);
      assert.equal(show("max_connections"), s.get("max_connections"));
      assert.equal(show("shared_buffers"), String((2048 * 1024) / 8), "2048MB in 8 kB pages");
      assert.equal(show("work_mem"), String(16 * 1024), "16MB in kB");
      assert.equal(show("statement_timeout"), "60000");
      assert.equal(show("wal_log_hints"), "on");
      assert.equal(show("max_slot_wal_keep_size"), String(16 * 1024), "16GB in MB");
      assert.equal(show("max_locks_per_transaction"), "128");
    });
  });
});

describe("PostgreSQL version bound by the pg_dump GitLab bundles", () => {
  const base = {
    hosts: [
      { name: "db", address: "10.0.0.1", roles: ["postgres-primary"] },
      { name: "gl", address: "10.0.0.2", roles: ["gitlab"] },
    ],
    gitlab: { externalUrl: "https://gitlab.example.com" },
    ssh: { privateKeyFile: "/k" },
    firewall: { enabled: false },
  };
  const versionIssues = (gitlab: string, pg: number, extensions = ["pg_trgm", "btree_gist", "plpgsql", "amcheck"]) =>
    crossKeyIssues({ ...base, gitlab: { ...base.gitlab, version: gitlab }, postgres: { version: pg, extensions } }, new Set()).filter((i) => i.path === "postgres.version");

  it("refuses a server newer than the newest client of the configured GitLab, naming postgres.version", () => {
    const [issue, ...more] = versionIssues("17.11.7", 17);
    assert.deepEqual(more, []);
    assert.match(issue!.message, /PostgreSQL 17 is newer than the newest client GitLab 17\.11\.7 bundles \(14, 16\)/);
    assert.deepEqual(versionIssues("17.11.7", 16), []);
    assert.deepEqual(versionIssues("18.11.0", 17), []);
    assert.match(versionIssues("18.5.2", 17)[0]!.message, /bundles \(16\)/);
    assert.deepEqual(versionIssues("19.3.0", 18), []);
  });

  it("refuses a server the release does not bundle when its default client is older", () => {
    // 17.5 ships 14 and 16 and links 14 by default: a PostgreSQL 15 server gets pg_dump 14.
    assert.match(versionIssues("17.5.0", 15, ["pg_trgm", "btree_gist", "plpgsql"])[0]!.message, /would use pg_dump 14, which refuses a newer server/);
    assert.deepEqual(versionIssues("17.11.7", 15, ["pg_trgm", "btree_gist", "plpgsql"]), [], "17.11 links 16 by default");
  });

  it("requires PostgreSQL 15 for a standby on Debian/Ubuntu (pg_rewind --config-file in the rejoin), naming postgres.version", () => {
    const dr = (os: string, version: number, standby = true) =>
      crossKeyIssues(
        {
          ...base,
          hosts: [
            { name: "db", address: "10.0.0.1", os, roles: ["postgres-primary"] },
            ...(standby ? [{ name: "db2", address: "10.0.0.3", os, roles: ["postgres-standby"] }] : []),
            { name: "gl", address: "10.0.0.2", roles: ["gitlab"] },
          ],
          gitlab: { ...base.gitlab, version: "17.11.7" },
          postgres: { version, extensions: ["pg_trgm", "btree_gist", "plpgsql", "amcheck"] },
        },
        new Set(),
      ).filter((i) => i.path === "postgres.version" && /pg_rewind/.test(i.message));
    const [issue, ...more] = dr("ubuntu-22.04", 14);
    assert.deepEqual(more, []);
    assert.match(issue!.message, /PostgreSQL 14 with a standby on db, db2 \(Debian\/Ubuntu\): .*pg_rewind --config-file, which PostgreSQL 15 added; use 15 or newer \(postgres\.packageSource pgdg/);
    assert.equal(dr("debian-11", 13).length, 1);
    assert.deepEqual(dr("ubuntu-22.04", 16), []);
    assert.deepEqual(dr("ubuntu-22.04", 14, false), [], "no standby: nothing to rejoin");
    assert.deepEqual(dr("el9", 14), [], "EL keeps postgresql.conf in the data directory: no --config-file");
  });

  it("reads patch rows per minor, as the upstream table lists them", () => {
    assert.equal(bundledPostgresFor("16.6.3")!.fallback, 13);
    assert.equal(bundledPostgresFor("16.6.7")!.fallback, 14);
    assert.equal(bundledPostgresFor("16.7.0")!.fallback, 14);
    assert.equal(bundledPostgresFor("16.5.2")!.fallback, 13);
    assert.deepEqual(bundledPostgresFor("18.10.3")!.majors, [16]);
    assert.equal(bundledPostgresFor("20.0.0"), undefined, "no claim beyond the table");
  });

  it("sets postgresql['version'] in gitlab.rb to the server's major", async () => {
    const e = await lab();
    const rb = gitlabRbOf(e, "gitlab");
    const s = rubySettings(rb, { "/etc/gitlab-ha/db_password": "x\n" }) as { postgresql: Record<string, unknown> };
    assert.equal(s.postgresql.version, 15);
  });
});

/**
 * A primary and a standby on Unix sockets in a temporary directory, driven by the program's own
 * scripts; systemctl is a stand-in that runs pg_ctl on the standby's data directory.
 */
describe("standby rebuild and streaming proof against real servers", { timeout: 180_000, skip }, () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const p = () => ({ data: path.join(dir, "p"), sock: path.join(dir, "psock") });
  const s = () => ({ data: path.join(dir, "s"), sock: path.join(dir, "ssock") });
  const SLOT = "gitlab_ha_s1";
  const pgctl = (args: string[]) => execFileSync("runuser", ["-u", "postgres", "--", `${BIN}/pg_ctl`, ...args], { encoding: "utf8" });
  const psql = (sock: string, sql: string) =>
    execFileSync("runuser", ["-u", "postgres", "--", `${BIN}/psql`, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", sock, "-p", "5432", "-d", "postgres", "-c", sql], { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] }).trim();
  const script = (body: string, vars: Record<string, string | number>) =>
    renderScript({ description: "test", host: "s1", vars, bodies: [`components/postgres/scripts/${body}`] });
  const common = () => ({
    OS_FAMILY: "dnf",
    PG_VERSION: "15",
    PG_PORT: 5432,
    BINDIR: BIN,
    DATA_DIR: s().data,
    CONF_DIR: s().data,
    SERVICE: "postgresql-15",
    MANAGED_CONF: path.join(s().data, "conf.d", "50-gitlab-ha.conf"),
    HOST_NAME: "s1",
    PRIMARY_HOST: p().sock,
    PRIMARY_PORT: 5432,
    REPLICATION_USER: "postgres",
    SLOT,
  });
  const basebackup = (token = "") =>
    run("bash", ["-c", script("basebackup.sh", { ...common(), CHECKPOINT: "fast", MAX_RATE: "", REBUILD_TOKEN: token })], { env });
  const streaming = (timeout: number) => run("bash", ["-c", script("streaming.sh", { ...common(), STREAM_TIMEOUT: timeout })], { env });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-ha-pgstream-"));
    fs.chmodSync(dir, 0o755);
    for (const d of [p().sock, s().sock]) fs.mkdirSync(d);
    execFileSync("chown", ["-R", "postgres", dir]);
    execFileSync("runuser", ["-u", "postgres", "--", `${BIN}/initdb`, "-D", p().data, "-A", "trust", "--data-checksums"], { stdio: "ignore" });
    // The program's managed file, as on a real host, then what only this test needs: sockets
    // and a small slot cap so that a stopped standby loses its slot quickly.
    const conf = confOf(await lab(), "pgsql");
    fs.mkdirSync(path.join(p().data, "conf.d"));
    fs.writeFileSync(path.join(p().data, "conf.d", "50-gitlab-ha.conf"), conf);
    fs.appendFileSync(
      path.join(p().data, "postgresql.conf"),
      "include_dir = 'conf.d'\nlisten_addresses = ''\nmax_slot_wal_keep_size = '64MB'\nmax_wal_size = '64MB'\nmin_wal_size = '32MB'\nwal_keep_size = 0\nshared_buffers = '128MB'\n",
    );
    execFileSync("chown", ["-R", "postgres", dir]);
    pgctl(["-D", p().data, "-w", "-l", `${p().data}.log`, "-o", `-k ${p().sock}`, "start"]);
    // What the primary's objects step does: one slot per standby.
    psql(p().sock, `SELECT pg_create_physical_replication_slot('${SLOT}')`);
    // systemctl stand-in: the standby's unit is pg_ctl on its data directory and socket.
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(
      path.join(bin, "systemctl"),
      `#!/bin/bash
case "$1" in
  is-active) runuser -u postgres -- ${BIN}/pg_ctl -D ${s().data} status >/dev/null 2>&1 ;;
  stop) runuser -u postgres -- ${BIN}/pg_ctl -D ${s().data} -m fast -w stop >/dev/null ;;
  start) runuser -u postgres -- ${BIN}/pg_ctl -D ${s().data} -w -l ${s().data}.log -o "-k ${s().sock}" start >/dev/null ;;
  *) echo "systemctl stand-in: $*" >&2; exit 1 ;;
esac
`,
      { mode: 0o755 },
    );
    env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, PGHOST: s().sock };
  });

  after(() => {
    for (const d of [s().data, p().data]) {
      try {
        pgctl(["-D", d, "-m", "immediate", "-w", "stop"]);
      } catch {
        /* not running */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("builds the standby, which the streaming step proves streaming from the primary on its slot", async () => {
    const built = await basebackup();
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stdout, /changed: built standby from .* on slot gitlab_ha_s1 \(the data directory is empty\)/);
    const proof = await streaming(30);
    assert.equal(proof.code, 0, proof.stderr);
    assert.equal(proof.stdout, "", "proving changes nothing");
    assert.equal(psql(s().sock, "SHOW max_connections"), settingsOf(confOf(await lab(), "pgsql")).get("max_connections"));
  });

  it("fails within its bound, naming the standby and what it saw, when the slot was lost", async () => {
    execFileSync(path.join(dir, "bin", "systemctl"), ["stop"]);
    // More WAL than the cap, then a checkpoint: the primary invalidates the slot.
    for (let i = 0; i < 6; i++) psql(p().sock, `CREATE TABLE IF NOT EXISTS w (x text); INSERT INTO w SELECT repeat(md5(g::text), 100) FROM generate_series(1, 40000) g; SELECT pg_switch_wal();`);
    psql(p().sock, "CHECKPOINT");
    assert.equal(psql(p().sock, `SELECT wal_status FROM pg_replication_slots WHERE slot_name = '${SLOT}'`), "lost");
    execFileSync(path.join(dir, "bin", "systemctl"), ["start"]);
    const t0 = Date.now();
    const proof = await streaming(4);
    assert.notEqual(proof.code, 0);
    assert.ok(Date.now() - t0 < 30_000, "bounded wait");
    assert.match(proof.stderr, /standby s1 is not streaming from the primary \/\S+psock:5432 after 4 s; it shows: (no WAL receiver|\w+ from)/);
    assert.match(proof.stderr, /set postgres\.rebuildStandbys\.s1/);
  });

  it("recreates the lost slot when the standby is rebuilt, and streams again", async () => {
    const rebuilt = await basebackup("after-lost-slot");
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.match(rebuilt.stdout, /dropped replication slot gitlab_ha_s1 .* to build on a fresh one/);
    const proof = await streaming(30);
    assert.equal(proof.code, 0, proof.stderr);
    assert.equal(psql(p().sock, `SELECT wal_status || ' ' || active::text FROM pg_replication_slots WHERE slot_name = '${SLOT}'`), "reserved true");
  });
});
