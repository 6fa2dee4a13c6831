// The program's resource graph under mocks: what it declares for each host, in which order, and
// how secrets travel. The options mocks do not see (dependsOn, deleteBeforeReplace) are recorded
// by the evaluator's stack transformation.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { SECRET, type Evaluation } from "../../components/offline/evaluate";
import { dependencies } from "../../components/offline/graph";
import { scriptOf } from "../../components/host/script";
import { byName, commandsOf, evaluateStack, labAddress, stackConfigOf } from "../helpers";

const REPL = "repl-Password-4711";
const GITLAB = "gitlab-Password-0815";
const computed = (type: string, name: string) =>
  type.startsWith("random:") ? { result: name.includes("replication") ? REPL : GITLAB } : {};

const varOf = (e: Evaluation, name: string, v: string) => {
  const m = new RegExp(`^${v}=(.*)$`, "m").exec(scriptOf(String(byName(e, name).display.create)) ?? "");
  return m?.[1];
};

describe("lab stack graph", () => {
  let e: Evaluation;
  before(async () => {
    e = await evaluateStack("lab", { preview: false, computed });
  });

  it("declares each host's steps once, under unique names", () => {
    const ids = e.resources.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const n of ["postgres-pgsql-install", "postgres-pgsql-cluster", "postgres-pgsql-service", "postgres-pgsql-objects",
      "postgres-pgsq2-install", "postgres-pgsq2-pgpass-write", "postgres-pgsq2-basebackup", "postgres-pgsq2-service",
      "lab-network", "lab-pgsql", "lab-pgsq2", "lab-gitlab", "lab-image"]) {
      byName(e, n);
    }
  });

  it("orders the standby after the primary's roles and slot, and files after their directory exists", () => {
    const deps = dependencies(e.resources);
    const of = (n: string) => [...deps.get(byName(e, n).id)!].map((d) => d.split("::")[1]);
    assert.ok(of("postgres-pgsq2-basebackup").includes("postgres-pgsql-objects"));
    assert.ok(of("postgres-pgsq2-basebackup").includes("postgres-pgsq2-pgpass-write"));
    assert.ok(of("postgres-pgsq2-hba-write").includes("postgres-pgsq2-basebackup"));
    assert.ok(of("postgres-pgsql-hba-write").includes("postgres-pgsql-cluster"));
    assert.ok(of("postgres-pgsql-service").includes("postgres-pgsql-hba-write"));
    assert.ok(of("postgres-pgsql-objects").includes("postgres-pgsql-service"));
    // Every step on a lab host waits for its container.
    for (const c of commandsOf(e)) assert.ok(of(c.name).some((d) => /^lab-(pgsql|pgsq2|gitlab|gitlab2|witness)$/.test(d)), c.name);
  });

  it("re-runs the service step when a managed file changes", () => {
    const triggers = byName(e, "postgres-pgsql-service").display.triggers as string[];
    assert.equal(triggers.length, 2);
    for (const t of triggers) assert.match(t, /^[0-9a-f]{64}$/);
  });

  it("never replaces create-before-delete where two copies would collide", () => {
    assert.equal(byName(e, "postgres-pgsq2-basebackup").options.deleteBeforeReplace, true);
    for (const h of ["pgsql", "pgsq2", "gitlab"]) assert.equal(byName(e, `lab-${h}`).options.deleteBeforeReplace, true);
  });

  it("keeps passwords out of command lines, file names and logs", () => {
    for (const r of e.resources) {
      const shown = JSON.stringify(r.display);
      assert.ok(!shown.includes(REPL) && !shown.includes(GITLAB), `${r.name} shows a password`);
      if (r.type !== "command:remote:Command") continue;
      const line = String(r.values.create);
      assert.ok(!line.includes(REPL) && !line.includes(GITLAB) && !line.includes("SCRAM-SHA-256$"), `${r.name} command line`);
      if (r.display.stdin === SECRET) assert.equal(r.values.logging, "none", `${r.name} logs output of a secret step`);
    }
    const objects = byName(e, "postgres-pgsql-objects");
    assert.equal(objects.display.stdin, SECRET);
    assert.match(String(objects.values.stdin), /^SCRAM-SHA-256\$4096:[^\n]+\nSCRAM-SHA-256\$4096:[^\n]+\n$/);
    assert.ok(!String(objects.values.stdin).includes(REPL), "the primary receives verifiers, not passwords");
    const pgpass = byName(e, "postgres-pgsq2-pgpass");
    assert.equal(pgpass.display.content, SECRET);
    assert.equal(String(pgpass.values.content), `${labAddress("pgsql")}:5432:replication:backup:${REPL}\n`);
    assert.equal(pgpass.values.mode, "0600");
    assert.equal(e.outputs.database && (e.outputs.database as Record<string, unknown>).password, SECRET);
  });

  it("allows replication only from the database peers and the gitlab role only from GitLab hosts", () => {
    const hba = String(byName(e, "postgres-pgsql-hba").display.content);
    const rules = hba.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(/\s+/));
    const allowed = rules.filter((r) => r.at(-1) !== "reject" && r[0] === "host");
    assert.deepEqual(
      allowed.map((r) => r.slice(1, 5).join(" ")),
      [
        `replication backup ${labAddress("pgsql")}/32 scram-sha-256`,
        `postgres backup ${labAddress("pgsql")}/32 scram-sha-256`,
        `replication backup ${labAddress("pgsq2")}/32 scram-sha-256`,
        `postgres backup ${labAddress("pgsq2")}/32 scram-sha-256`,
        `all gitlab ${labAddress("gitlab")}/32 scram-sha-256`,
        `all gitlab ${labAddress("gitlab2")}/32 scram-sha-256`,
      ],
    );
    assert.ok(rules.filter((r) => r.includes("0.0.0.0/0")).every((r) => r.at(-1) === "reject"));
    assert.equal(byName(e, "postgres-pgsq2-hba").display.content, hba, "standby has the same rules for after a failover");
  });

  it("gives the standby its own slot on the primary", () => {
    assert.equal(varOf(e, "postgres-pgsql-objects", "SLOTS"), "(gitlab_ha_pgsq2)");
    assert.equal(varOf(e, "postgres-pgsq2-basebackup", "SLOT"), "gitlab_ha_pgsq2");
    assert.equal(varOf(e, "postgres-pgsq2-basebackup", "PRIMARY_HOST"), labAddress("pgsql"));
    assert.equal(varOf(e, "postgres-pgsq2-basebackup", "REBUILD_TOKEN"), "''");
  });

  it("creates lab hosts as systemd containers reachable on loopback", () => {
    const c = byName(e, "lab-pgsql").values;
    assert.deepEqual(c.command, ["/sbin/init"]);
    const lab = stackConfigOf("lab");
    assert.deepEqual(c.ports, [{ internal: 22, external: lab.hosts[0]!.ssh.port, ip: "127.0.0.1" }]);
    assert.deepEqual(c.networksAdvanced, [{ name: "gitlab-ha-lab", ipv4Address: labAddress("pgsql") }]);
    assert.equal(c.privileged, undefined);
    assert.match(String((c.uploads as { content: string }[])[0]!.content), /^ssh-ed25519 AAAA\S+ gitlab-ha-lab\n$/);
  });
});

describe("stack variants", () => {
  it("treats encrypted secure: values as unknown secrets and generates nothing for them", async () => {
    const e = await evaluateStack("lab", { overrides: { postgresGitlabPassword: { secure: "v1:abc:def" } } });
    assert.ok(!e.resources.some((r) => r.name === "postgres-gitlab-password"));
    assert.ok(e.resources.some((r) => r.name === "postgres-replication-password"));
    assert.equal(byName(e, "postgres-pgsql-objects").display.stdin, SECRET);
  });

  it("uses PGDG's EL layout on dnf hosts and sudo for a non-root SSH user", async () => {
    const e = await evaluateStack("prod", { overrides: { ssh: { user: "deploy", agent: true } } });
    const service = byName(e, "postgres-pgsql-service");
    assert.match(String(service.values.create), /^sudo -n bash -c /);
    assert.equal(varOf(e, "postgres-pgsql-service", "SERVICE"), "postgresql-16");
    assert.equal(varOf(e, "postgres-pgsql-service", "BINDIR"), "/usr/pgsql-16/bin");
    assert.equal(byName(e, "postgres-pgsql-hba").display.path, "/var/lib/pgsql/16/data/pg_hba.conf");
    assert.equal((service.values.connection as Record<string, unknown>).privateKey, undefined, "agent: no key in state");
  });

  it("moves PGDATA with a systemd drop-in, not by editing the packaged unit", async () => {
    const file = await evaluateStack("prod", { overrides: { postgres: { dataDirectory: "/srv/pg", extensions: ["pg_trgm", "btree_gist", "plpgsql", "amcheck"] } } });
    const dropIn = byName(file, "postgres-pgsql-pgdata");
    assert.equal(dropIn.display.path, "/etc/systemd/system/postgresql-16.service.d/50-gitlab-ha-pgdata.conf");
    assert.equal(dropIn.display.content, "[Service]\nEnvironment=PGDATA=/srv/pg\n");
  });

  it("passes a rebuild token only to the standby it names", async () => {
    const e = await evaluateStack("lab", { overrides: { postgres: { version: 15, packageSource: "distribution", rebuildStandbys: { pgsq2: "r1" } } } });
    assert.equal(varOf(e, "postgres-pgsq2-basebackup", "REBUILD_TOKEN"), "r1");
  });
});

describe("operator-facing output", () => {
  it("gives operators the endpoints they need, secrets only as secrets", async () => {
    const e = await evaluateStack("prod");
    const o = e.outputs as Record<string, Record<string, unknown> | Record<string, unknown>[]>;
    assert.deepEqual((o.gitlab as Record<string, unknown>[])[0], { node: "10-228-130-58", http: "http://10.228.130.58/", https: "https://10.228.130.58/", ssh: "ssh://git@10.228.130.58:2222" });
    const db = o.database as Record<string, unknown>;
    assert.deepEqual(db.primary, { node: "pgsql", host: "10.228.129.11", port: 5432 });
    assert.deepEqual(db.standbys, [{ node: "pgsq2", host: "10.228.130.61", port: 5432, slot: "gitlab_ha_pgsq2" }]);
    assert.equal(db.password, SECRET);
    assert.equal((o.drbd as Record<string, unknown>).initialPrimary, "10-228-130-58");
  });
});
