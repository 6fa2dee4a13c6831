// The external database pair on real hosts: systemd containers with sshd and PostgreSQL,
// converged by `pulumi up` of the lab stack through the real engine (see bed.ts). Steps build on each other.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { local } from "@pulumi/command";
import { LAB_BACKEND, projectProgram } from "../../.ci/engine/workspace";
import { ROOT } from "../helpers";
import { address, assertNoDrift, converge, exportState, exportText, generated, leftOnEngine, previewWithPolicies, psql, resetLab, sh, StepError, waitFor } from "./bed";

const DATA = "/var/lib/postgresql/15/main";
const MARKER = "/var/lib/postgresql/15/.main.gitlab-ha-basebackup-incomplete";
const remoteRuns = (r: Awaited<ReturnType<typeof converge>>) => r.ran.filter((s) => s.host);
const changesOf = (r: Awaited<ReturnType<typeof converge>>) => r.ran.flatMap((s) => s.changes.map((c) => `${s.host ?? "-"}: ${c}`));

async function assertStreaming(): Promise<void> {
  assert.equal(await psql("pgsq2", "SELECT pg_is_in_recovery()"), "t");
  const rep = await waitFor("the standby to stream", 30, async () => {
    const row = await psql("pgsql", "SELECT host(client_addr) || ' ' || state FROM pg_stat_replication");
    return row === `${address("pgsq2")} streaming` ? row : undefined;
  });
  assert.equal(rep, `${address("pgsq2")} streaming`);
  assert.equal(await psql("pgsql", "SELECT active FROM pg_replication_slots WHERE slot_name = 'gitlab_ha_pgsq2'"), "t");
}

async function loginAsGitlab(host: string): Promise<string> {
  const conninfo = `host=${address("pgsql")} port=5432 user=gitlab dbname=gitlabhq_production`;
  // The password travels on stdin, never in a command line.
  return sh(host, `IFS= read -r PGPASSWORD; export PGPASSWORD; psql -X -At -d '${conninfo}' -c 'SELECT current_user' 2>&1 || true`, `${generated("postgres-gitlab-password")}\n`);
}

describe("PostgreSQL primary and streaming standby on lab hosts", { timeout: 900_000 }, () => {
  before(async () => {
    await resetLab();
  });
  after(async () => {
    if (!process.env.KEEP_LAB) await resetLab();
  });

  it("converges started hosts into a primary with a streaming standby", async () => {
    const t0 = Date.now();
    const report = await converge();
    console.log(`# lab converge from scratch: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.ok(changesOf(report).some((c) => /pgsq2: built standby from .* on slot gitlab_ha_pgsq2/.test(c)), changesOf(report).join("\n"));
    await assertStreaming();
    await psql("pgsql", "CREATE TABLE probe (id int PRIMARY KEY, at timestamptz DEFAULT now()); INSERT INTO probe VALUES (1);", "gitlabhq_production");
    const t1 = Date.now();
    await waitFor("the row on the standby", 10, async () =>
      (await psql("pgsq2", "SELECT count(*) FROM probe", "gitlabhq_production")) === "1" ? true : undefined,
    );
    console.log(`# row visible on the standby after ${Date.now() - t1} ms`);
    assert.ok(remoteRuns(report).some((r) => r.name === "postgres-pgsq2-streaming"), "the standby's converge ends with the streaming proof");
    // Sized for GitLab, equal on both (a hot standby needs these no lower than its primary's).
    for (const name of ["max_connections", "max_locks_per_transaction", "max_worker_processes", "max_prepared_transactions", "max_wal_senders", "wal_log_hints", "max_slot_wal_keep_size"]) {
      assert.equal(await psql("pgsq2", `SHOW ${name}`), await psql("pgsql", `SHOW ${name}`), name);
    }
    assert.ok(Number(await psql("pgsql", "SHOW max_connections")) >= 400);
    assert.equal(await psql("pgsql", "SHOW wal_log_hints"), "on");
  });

  it("keeps no generated password or the SSH private key in plaintext in the state or the backend's files", async () => {
    const secrets = {
      "gitlab password": generated("postgres-gitlab-password"),
      "replication password": generated("postgres-replication-password"),
      "SSH private key": fs.readFileSync(path.join(ROOT, ".lab", "ssh", "id_ed25519"), "utf8").split("\n")[1]!,
    };
    for (const v of Object.values(secrets)) assert.ok(v.length >= 20, "a real value to look for");
    // `pulumi stack export` as an operator runs it (no --show-secrets), and every file of the backend.
    const exported = { stdout: exportText() };
    assert.ok(exported.stdout.includes("4dabf18193072939515e22adb298388d"), "the export holds secrets, encrypted");
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (f: string) => files.push(f))(path.join(d, e.name));
    };
    walk(LAB_BACKEND);
    assert.ok(files.length > 0);
    for (const [what, value] of Object.entries(secrets)) {
      assert.ok(!exported.stdout.includes(value), `the ${what} is in plaintext in pulumi stack export`);
      for (const f of files) assert.ok(!fs.readFileSync(f, "utf8").includes(value), `the ${what} is in plaintext in ${f}`);
    }
    assert.ok(exportState().length > 20, "the state was read with secrets shown: the values looked for are the real ones");
  });

  it("lets gitlab log in from the GitLab host only, with its extensions in place", async () => {
    assert.equal(await loginAsGitlab("gitlab"), "gitlab");
    assert.match(await loginAsGitlab("pgsq2"), /no pg_hba\.conf entry|rejects connection/);
    assert.equal(
      await psql("pgsql", "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension", "gitlabhq_production"),
      "btree_gist,pg_trgm,plpgsql",
    );
    assert.equal(await psql("pgsql", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'gitlabhq_production'"), "gitlab");
    assert.equal(await psql("pgsql", "SELECT rolreplication FROM pg_roles WHERE rolname = 'backup'"), "t");
  });

  it("changes nothing on a second converge, even when every command runs again", async () => {
    const started = async () => [await psql("pgsql", "SELECT pg_postmaster_start_time()"), await psql("pgsq2", "SELECT pg_postmaster_start_time()")];
    const before = await started();
    const t0 = Date.now();
    const again = await converge();
    console.log(`# converge with nothing changed: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.deepEqual(again.ran, [], "unchanged inputs must run nothing");
    // refresh and preview with --expect-no-changes: no provider read-back drift (e.g. mustRun).
    await assertNoDrift();
    const forced = await converge({ force: true });
    assert.equal(remoteRuns(forced).length, forced.commands, "a forced converge runs every host step's script again");
    assert.deepEqual(changesOf(forced), []);
    assert.deepEqual(await started(), before, "a server restarted");
  });

  it("passes the policy pack on the lab stack; a variant with a step that breaks a mandatory policy is refused by name", async () => {
    const out = await previewWithPolicies();
    assert.match(out, /Policies:[\s\S]*gitlab-ha@v0\.1\.0/, out.slice(-2000));
    const variant = async () => {
      const outputs = await projectProgram();
      new local.Command("policy-variant-step", { create: "PGPASSWORD=hunter2 psql -c 'select 1'" });
      return outputs;
    };
    await assert.rejects(previewWithPolicies(variant), (e: Error) => {
      assert.match(e.message, /\[mandatory\]\s+no-secret-in-plain-inputs\s+\(command:local:Command: policy-variant-step\)/, e.message.slice(-3000));
      return true;
    });
  });

  it("does not finish the standby's converge until it streams, and says what it saw", async () => {
    const conninfo = await psql("pgsq2", "SHOW primary_conninfo");
    const setConninfo = async (v: string) => {
      await psql("pgsq2", `ALTER SYSTEM SET primary_conninfo = '${v.replace(/'/g, "''")}'`);
      await psql("pgsq2", "SELECT pg_reload_conf()");
    };
    // The standby's WAL receiver now dials a port nobody listens on.
    await setConninfo(conninfo.replace(/port=\d+/, "port=1"));
    await waitFor("the WAL receiver to stop streaming", 30, async () =>
      (await psql("pgsq2", "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")) === "0" ? true : undefined,
    );
    const t0 = Date.now();
    await assert.rejects(converge({ postgres: { streamingTimeoutSeconds: 5 } }), (e: unknown) => {
      assert.ok(e instanceof StepError && e.resource.name === "postgres-pgsq2-streaming", String(e));
      assert.match(e.message, new RegExp(`standby pgsq2 is not streaming from the primary ${address("pgsql").replace(/\./g, "\\.")}:5432 after 5 s; it shows: `));
      return true;
    });
    assert.ok(Date.now() - t0 < 60_000, "a bounded wait");
    await setConninfo(conninfo);
    // The failed step kept its last good state: a forced converge runs the proof again.
    const healed = await converge({ force: true });
    assert.ok(remoteRuns(healed).some((r) => r.name === "postgres-pgsq2-streaming"));
    assert.deepEqual(changesOf(healed), []);
    await assertStreaming();
  });

  it("keeps every row when converging again with data present", async () => {
    await psql("pgsql", "CREATE TABLE keep AS SELECT g AS id FROM generate_series(1, 5000) g", "gitlabhq_production");
    await converge({ force: true });
    assert.equal(await psql("pgsql", "SELECT count(*) FROM keep", "gitlabhq_production"), "5000");
    await waitFor("rows on the standby", 10, async () => ((await psql("pgsq2", "SELECT count(*) FROM keep", "gitlabhq_production").catch(() => "")) === "5000" ? true : undefined));
  });

  it("finishes a standby whose base backup was killed half-way", async () => {
    await psql("pgsql", "CREATE TABLE bulk AS SELECT g AS id, repeat(md5(g::text), 30) AS pad FROM generate_series(1, 60000) g", "gitlabhq_production");
    // Throttled so that the copy is still running when it is killed.
    const throttled = { basebackup: { maxRate: "8M" } };
    // A fresh standby host: service stopped, data directory empty.
    await sh("pgsq2", `systemctl stop postgresql@15-main && find ${DATA} -mindepth 1 -delete`);
    const killed = converge({ postgres: throttled }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await waitFor("pg_basebackup to copy some files", 60, async () =>
      Number(await sh("pgsq2", `[ -f ${MARKER} ] && pgrep -x pg_basebackup >/dev/null && du -sm ${DATA} | cut -f1`)) >= 2 ? true : undefined,
    );
    await sh("pgsq2", "pkill -KILL -x pg_basebackup");
    const failure = await killed;
    assert.ok(failure instanceof StepError && failure.resource.name === "postgres-pgsq2-basebackup", String(failure));
    assert.equal(await sh("pgsq2", `[ -f ${MARKER} ] && [ -f ${DATA}/PG_VERSION ] && echo half`), "half");

    // The next run, with the same config: the failed step runs again and finds the marker.
    const report = await converge({ postgres: throttled });
    assert.ok(changesOf(report).some((c) => c.includes("a previous base backup did not finish")), changesOf(report).join("\n"));
    await assertStreaming();
    assert.equal(await sh("pgsq2", `[ -f ${MARKER} ] && echo left || echo gone`), "gone");
    await waitFor("bulk rows on the standby", 10, async () => ((await psql("pgsq2", "SELECT count(*) FROM bulk", "gitlabhq_production").catch(() => "")) === "60000" ? true : undefined));
    assert.equal(await psql("pgsq2", "SELECT count(*) FROM keep", "gitlabhq_production"), "5000");
  });

  it("refuses to empty a standby that holds a working cluster until a rebuild is asked for", async () => {
    await sh("pgsq2", "pg_ctlcluster 15 main promote");
    await waitFor("promotion", 20, async () => ((await psql("pgsq2", "SELECT pg_is_in_recovery()")) === "f" ? true : undefined));
    await psql("pgsq2", "CREATE TABLE only_here (id int)", "gitlabhq_production");
    await assert.rejects(converge({ force: true }), (e: unknown) => e instanceof StepError && /refusing to empty it; set postgres\.rebuildStandbys\.pgsq2/.test(e.message));
    assert.equal(await psql("pgsq2", "SELECT count(*) FROM only_here", "gitlabhq_production"), "0", "the promoted cluster must be untouched");

    const rebuilt = await converge({ postgres: { rebuildStandbys: { pgsq2: "after-promotion" } } });
    assert.ok(changesOf(rebuilt).some((c) => c.includes("asks for a rebuild (token after-promotion)")), changesOf(rebuilt).join("\n"));
    await assertStreaming();
    const same = await converge({ postgres: { rebuildStandbys: { pgsq2: "after-promotion" } }, force: true });
    assert.deepEqual(changesOf(same), [], "the same token rebuilds only once");
  });

  it("leaves no container, network or volume of the stack after destroy", async () => {
    assert.ok((await leftOnEngine()).length >= 5, "the stack's containers exist before");
    await resetLab();
    assert.deepEqual(await leftOnEngine(), []);
  });
});
