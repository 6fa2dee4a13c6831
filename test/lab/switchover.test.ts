// The database primary moved through `pulumi up` on lab hosts (issue 11's open proof): a role
// swap in the stack file plus `up`, while a client on the GitLab host writes numbered rows to
// whichever server accepts them; then back; then an unplanned failover (`npm run db:failover`
// after a hard stop of the primary's container) and the `up` that rejoins the old primary with
// pg_rewind. Figures (write-unavailability window, rows lost) are printed as `# ...` lines.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { runOk } from "../../components/offline/run";
import { ROOT } from "../helpers";
import { address, container, converge, generated, LAB_HOSTS, psql, resetLab, sh, STACK, waitFor } from "./bed";

const DB = "gitlabhq_production";
/** The lab's hosts with the database roles of pgsql and pgsq2 given as `primary`/`standby`. */
const rolesWith = (primary: string, standby: string) =>
  LAB_HOSTS.map((h) =>
    h.name === primary ? { ...h, roles: ["postgres-primary"] } : h.name === standby ? { ...h, roles: ["postgres-standby"] } : h,
  );

/** A client on the GitLab host: one INSERT per id into whichever server takes it; logs "<id> <ms>" per commit. */
const WRITER = `set -u
i=0
while [ ! -e /tmp/writer.stop ]; do
  i=$((i+1))
  for h in ${address("pgsql")} ${address("pgsq2")}; do
    if PGPASSFILE=/root/.writer.pgpass psql -X -q -At "host=$h port=5432 user=gitlab dbname=${DB} connect_timeout=2" -c "INSERT INTO switchover_probe VALUES ($i)" >/dev/null 2>&1; then
      echo "$i $(date +%s%3N)" >> /tmp/writer.log; break
    fi
  done
  sleep 0.05
done`;

async function startWriter(): Promise<void> {
  const pw = generated("postgres-gitlab-password");
  await sh("gitlab", "umask 077; rm -f /tmp/writer.stop /tmp/writer.log; cat > /root/.writer.pgpass", `*:5432:${DB}:gitlab:${pw}\n`);
  await runOk("docker", ["exec", "-d", container("gitlab"), "bash", "-c", WRITER]);
  await waitFor("the writer's first commits", 30, async () => (Number(await sh("gitlab", "wc -l < /tmp/writer.log")) > 10 ? true : undefined));
}

/** Stops the writer; returns the committed ids and the longest gap between two commits (ms). */
async function stopWriter(): Promise<{ ids: number[]; window: number }> {
  await sh("gitlab", "touch /tmp/writer.stop");
  await new Promise((r) => setTimeout(r, 3000));
  const rows = (await sh("gitlab", "cat /tmp/writer.log")).split("\n").map((l) => l.split(" ").map(Number) as [number, number]);
  let window = 0;
  for (let i = 1; i < rows.length; i++) window = Math.max(window, rows[i]![1] - rows[i - 1]![1]);
  return { ids: rows.map((r) => r[0]), window };
}

async function missingOn(host: string, ids: number[]): Promise<number[]> {
  const have = new Set((await psql(host, "SELECT id FROM switchover_probe", DB)).split("\n").filter(Boolean).map(Number));
  return ids.filter((id) => !have.has(id));
}

async function assertStreams(primary: string, standby: string): Promise<void> {
  assert.equal(await psql(primary, "SELECT pg_is_in_recovery()"), "f", `${primary} is the primary`);
  assert.equal(await psql(standby, "SELECT pg_is_in_recovery()"), "t", `${standby} is a standby`);
  await waitFor(`${standby} streaming from ${primary}`, 60, async () =>
    (await psql(primary, "SELECT host(client_addr) || ' ' || state FROM pg_stat_replication")) === `${address(standby)} streaming` ? true : undefined,
  );
  assert.equal(await psql(primary, `SELECT active FROM pg_replication_slots WHERE slot_name = 'gitlab_ha_${standby}'`), "t", `${standby} on its own slot`);
}

describe("database switchover and failover through pulumi up (lab)", { timeout: 1_800_000 }, () => {
  before(async () => {
    await resetLab();
    await converge();
    await psql("pgsql", "CREATE TABLE switchover_probe (id int PRIMARY KEY); GRANT INSERT, SELECT ON switchover_probe TO gitlab;", DB);
  });
  after(async () => {
    if (!process.env.KEEP_LAB) await resetLab();
  });

  it("moves the primary to pgsq2 by a role swap and `up`, losing no committed row", async () => {
    await assertStreams("pgsql", "pgsq2");
    await startWriter();
    const t0 = Date.now();
    await converge({ hosts: rolesWith("pgsq2", "pgsql") });
    const upSeconds = (Date.now() - t0) / 1000;
    await waitFor("commits on the new primary", 30, async () => (Number(await psql("pgsq2", "SELECT count(*) FROM switchover_probe", DB)) > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 2000));
    const { ids, window } = await stopWriter();
    const lost = await missingOn("pgsq2", ids);
    console.log(`# planned switchover through up: ${upSeconds.toFixed(1)} s; write-unavailability window ${(window / 1000).toFixed(1)} s; ${ids.length} committed rows, ${lost.length} lost`);
    assert.deepEqual(lost, [], "every committed row is on the new primary");
    await assertStreams("pgsq2", "pgsql");
  });

  it("changes nothing on a second `up`", async () => {
    const again = await converge({ hosts: rolesWith("pgsq2", "pgsql") });
    assert.deepEqual(again.ran, [], "a second up ran steps");
  });

  it("switches back by restoring the roles", async () => {
    await converge();
    await assertStreams("pgsql", "pgsq2");
    assert.equal(await psql("pgsql", "SELECT count(*) > 0 FROM switchover_probe", DB), "t");
  });

  it("fails over with db:failover after a hard stop of the primary, and `up` rejoins the old primary with pg_rewind", async () => {
    await psql("pgsql", "INSERT INTO switchover_probe SELECT g FROM generate_series(1000001, 1000100) g", DB);
    await waitFor("the rows on the standby", 30, async () =>
      (await psql("pgsq2", "SELECT count(*) FROM switchover_probe WHERE id > 1000000", DB)) === "100" ? true : undefined,
    );
    await runOk("docker", ["kill", container("pgsql")]);
    const cli = spawnSync(process.execPath, [path.join(ROOT, "dist/components/postgres/failover-cli.js"), "--stack", STACK, "--promote", "pgsq2", "--fenced", "pgsql"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 300_000,
    });
    assert.equal(cli.status, 0, `${cli.stdout}${cli.stderr}`);
    assert.equal(await psql("pgsq2", "SELECT pg_is_in_recovery()"), "f", "pgsq2 promoted");
    await psql("pgsq2", "INSERT INTO switchover_probe VALUES (2000001)", DB);
    // The old primary's host comes back (its container restarted): systemd starts its PostgreSQL,
    // which runs as a primary again. The operator keeps it fenced (stopped) until `up` rejoins it:
    // the program never rejoins a host still running as a primary (README, "Unplanned failover").
    await runOk("docker", ["start", container("pgsql")]);
    await waitFor("sshd on the old primary", 60, async () => ((await sh("pgsql", "systemctl is-active ssh || true")) === "active" ? true : undefined));
    await sh("pgsql", "systemctl stop postgresql@15-main");
    await converge({ hosts: rolesWith("pgsq2", "pgsql") });
    await assertStreams("pgsq2", "pgsql");
    await waitFor("the row written after the failover on the rejoined standby", 30, async () =>
      (await psql("pgsql", "SELECT count(*) FROM switchover_probe WHERE id = 2000001", DB)) === "1" ? true : undefined,
    );
    assert.equal(await psql("pgsql", "SELECT count(*) FROM switchover_probe WHERE id > 1000000 AND id < 2000000", DB), "100", "rows streamed before the stop are kept");
  });
});
