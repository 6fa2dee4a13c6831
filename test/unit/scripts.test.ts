// Every host script the program can emit, checked by shellcheck, plus the pure renderers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { scriptOf } from "../../components/host/script";
import { renderPgHba, renderPgpassLine, renderPostgresConf, scramVerifier, slotName } from "../../components/postgres/render";
import { postgresSchema } from "../../components/config/schema";
import { commandsOf, evaluateStack, shellcheck } from "../helpers";

const VARIANTS: [string, Record<string, unknown>][] = [
  ["lab", {}],
  ["prod", {}],
  ["prod", { ssh: { user: "deploy", agent: true }, postgres: { dataDirectory: "/srv/pg", basebackup: { maxRate: "50M" }, rebuildStandbys: { pgsq2: "t1" }, extensions: ["pg_trgm", "btree_gist", "plpgsql", "amcheck"] } }],
  ["prod", { failover: { engine: "drbd-reactor" }, drbd: { initialPrimary: "10-228-130-58", quorum: "off", acknowledgeSplitBrainRisk: "accepted by the test" } }],
];

describe("host scripts", () => {
  for (const [stack, overrides] of VARIANTS) {
    it(`are shellcheck-clean and strict for ${stack} ${JSON.stringify(overrides)}`, async () => {
      const e = await evaluateStack(stack, { overrides });
      let checked = 0;
      for (const c of commandsOf(e)) {
        for (const field of ["create", "delete"] as const) {
          const line = c.display[field];
          if (typeof line !== "string") continue;
          const script = scriptOf(line);
          assert.ok(script, `${c.name}.${field} is not a gitlab-ha script`);
          assert.ok(script.startsWith("set -euo pipefail\n"), `${c.name}.${field} is not strict`);
          assert.equal(shellcheck(script), "", `${c.name}.${field}`);
          checked++;
        }
      }
      assert.ok(checked >= 13, `only ${checked} scripts`);
    });
  }
});

describe("PostgreSQL renderers", () => {
  const pg = postgresSchema.parse({ settings: { work_mem: "64MB", jit: false } });

  it("writes replication settings and extra settings, quoted", () => {
    const conf = renderPostgresConf(pg);
    for (const l of ["listen_addresses = '*'", "wal_level = 'replica'", "hot_standby = on", "max_wal_senders = 10", "password_encryption = 'scram-sha-256'", "jit = off", "work_mem = '64MB'", "max_slot_wal_keep_size = '16GB'"]) {
      assert.ok(conf.split("\n").includes(l), `missing ${l}`);
    }
  });

  it("renders pg_hba with one rule per declared address and explicit rejects", () => {
    const hba = renderPgHba({
      database: "gitlabhq_production",
      gitlabUser: "gitlab",
      replicationUser: "backup",
      replicationPeers: [{ host: "a", addresses: ["10.0.0.1"] }, { host: "b", addresses: ["10.0.0.2"] }],
      gitlabClients: [{ host: "g", addresses: ["10.0.0.3", "172.17.0.1", "fd00::3"] }],
    });
    const rules = hba.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.replace(/\s+#.*$/, "").split(/\s+/).join(" "));
    assert.deepEqual(rules, [
      "local all postgres peer",
      "host replication backup 10.0.0.1/32 scram-sha-256",
      "host postgres backup 10.0.0.1/32 scram-sha-256",
      "host replication backup 10.0.0.2/32 scram-sha-256",
      "host postgres backup 10.0.0.2/32 scram-sha-256",
      "host all gitlab 10.0.0.3/32 scram-sha-256",
      "host all gitlab 172.17.0.1/32 scram-sha-256",
      "host all gitlab fd00::3/128 scram-sha-256",
      "host all all 0.0.0.0/0 reject",
      "host all all ::/0 reject",
      "host replication all 0.0.0.0/0 reject",
      "host replication all ::/0 reject",
    ]);
  });

  it("escapes .pgpass fields", () => {
    assert.equal(renderPgpassLine("10.0.0.1", 5432, "replication", "backup", "a:b\\c"), "10.0.0.1:5432:replication:backup:a\\:b\\\\c\n");
  });

  it("derives stable SCRAM verifiers per role", () => {
    const v = scramVerifier("secret-pw", "gitlab");
    assert.match(v, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    assert.equal(scramVerifier("secret-pw", "gitlab"), v);
    assert.notEqual(scramVerifier("secret-pw", "backup").split("$")[1], v.split("$")[1], "salt differs per role");
    assert.notEqual(scramVerifier("other-pw", "gitlab"), v);
  });

  it("names slots after their standby", () => {
    assert.equal(slotName("pg-2"), "gitlab_ha_pg_2");
  });
});
