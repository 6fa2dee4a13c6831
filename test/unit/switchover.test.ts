// The switchover in the graph (under mocks) and its config rules: a role swap in the config shows
// as an update of the resource named for it, the steps run in the safe order, what the check
// finds reaches the later steps, GitLab follows the primary, and bad input is refused by key path.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as YAML from "yaml";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, validateConfig } from "../../components/config/load";
import type { ConfigIssue } from "../../components/config/rules";
import type { Evaluation } from "../../components/offline/evaluate";
import { parseCheckpoint, parseSwitchover } from "../../components/postgres/switchover";
import { renderPostgresConf } from "../../components/postgres/render";
import { postgresSchema } from "../../components/config/schema";
import { scriptOf } from "../../components/host/script";
import { byName, evaluateStack, gitlabRbOf, labAddress, ROOT, shellcheck } from "../helpers";

type Host = { name: string; address: string; roles: string[] } & Record<string, unknown>;
const labHosts = (): Host[] => (YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.lab.yaml"), "utf8")).config["gitlab-ha:hosts"] as Host[]);
/** The lab stack with postgres-primary and postgres-standby swapped between pgsql and pgsq2. */
const swapped = (): Host[] =>
  labHosts().map((h) => ({ ...h, roles: h.roles.map((r) => (r === "postgres-primary" ? "postgres-standby" : r === "postgres-standby" ? "postgres-primary" : r)) }));

const passwords = (type: string, name: string) => (type.startsWith("random:") ? { result: `${name}-Password-1` } : {});
const create = (e: Evaluation, name: string) => String(byName(e, name).values.create);
const stdin = (e: Evaluation, name: string) => byName(e, name).values.stdin;
const deps = (e: Evaluation, name: string) => [...byName(e, name).dependsOn];
const id = (name: string) => `command:remote:Command::${name}`;

describe("switchover in the graph", () => {
  let before_: Evaluation, after_: Evaluation, running: Evaluation, idle: Evaluation;
  before(async () => {
    idle = await evaluateStack("lab", { preview: false, computed: passwords });
    before_ = await evaluateStack("lab");
    after_ = await evaluateStack("lab", { overrides: { hosts: swapped() } });
    // `up` of the swapped config where the check found pgsq2 still streaming from pgsql and the
    // stop step stopped pgsql at a checkpoint: the engine's outputs, given to the mocks.
    running = await evaluateStack("lab", {
      overrides: { hosts: swapped() },
      preview: false,
      computed: (type, name) =>
        type !== "command:remote:Command"
          ? passwords(type, name)
          : name === "postgres-switchover"
            ? { stdout: "gitlab-ha: switchover: pgsql -> pgsq2\n" }
            : name === "postgres-switchover-stop-pgsql"
              ? { stdout: "gitlab-ha: changed: stopped the old primary pgsql cleanly\ngitlab-ha: checkpoint: 0/3014410\n" }
              : { stdout: "" },
    });
  });

  it("is one resource named for it, on the configured primary, whose script names the new primary and its standbys: a role swap is an update of it", () => {
    const was = create(before_, "postgres-switchover");
    const now = create(after_, "postgres-switchover");
    assert.match(was, /^# host: pgsql$/m);
    assert.match(was, /# gitlab-ha: switchover check: make pgsql the primary \(standbys: pgsq2\)/);
    assert.match(now, /^# host: pgsq2$/m);
    assert.match(now, /# gitlab-ha: switchover check: make pgsq2 the primary \(standbys: pgsql\)/);
    assert.equal(shellcheck(scriptOf(now)!), "");
  });

  it("orders check, GitLab stop, clean stop of the old primary, promotion, then the new primary's own steps, and the rejoin before the standby's", () => {
    const e = after_;
    assert.ok(deps(e, "postgres-switchover-gitlab-stop-gitlab").includes(id("postgres-switchover")));
    for (const d of [id("postgres-switchover"), id("postgres-switchover-gitlab-stop-gitlab"), id("postgres-switchover-gitlab-stop-gitlab2")]) {
      assert.ok(deps(e, "postgres-switchover-stop-pgsql").includes(d), `stop waits for ${d}`);
    }
    assert.ok(deps(e, "postgres-switchover-promote").includes(id("postgres-switchover-stop-pgsql")));
    assert.ok(deps(e, "postgres-pgsq2-cluster").includes(id("postgres-switchover-promote")), "the new primary's cluster step waits for the promotion");
    assert.ok(deps(e, "postgres-rewind-role").includes(id("postgres-pgsq2-objects")));
    assert.ok(deps(e, "postgres-rejoin-pgsql").includes(id("postgres-pgsq2-objects")), "rejoin waits for the new primary's slot");
    assert.ok(deps(e, "postgres-pgsql-basebackup").includes(id("postgres-rejoin-pgsql")), "the standby's own steps wait for the rejoin");
    assert.equal(byName(e, "postgres-rejoin-pgsql").options.deleteBeforeReplace, true);
    assert.ok(deps(e, "postgres-switchover-gitlab-start-gitlab").includes("gitlab-ha:gitlab:Node::gitlab-gitlab"), "GitLab starts again after its node's steps");
    // DRBD nodes: through the failover engine's unit.
    assert.match(create(e, "postgres-switchover-gitlab-stop-gitlab"), /^MODE=unit$/m);
    assert.match(create(e, "postgres-switchover-gitlab-stop-gitlab"), /^GITLAB_UNIT=gitlab-container\.service$/m);
  });

  it("hands what the check found to the later steps on stdin, and nothing when no switchover is due", () => {
    assert.equal(stdin(running, "postgres-switchover-gitlab-stop-gitlab"), "pgsql -> pgsq2\n");
    assert.equal(stdin(running, "postgres-switchover-stop-pgsql"), "pgsql\n\n");
    assert.equal(stdin(running, "postgres-switchover-promote"), "pgsql\n0/3014410\n");
    assert.equal(stdin(running, "postgres-switchover-gitlab-start-gitlab"), "pgsql -> pgsq2\n");
    assert.equal((running.outputs.database as Record<string, unknown>).switchover, "pgsql -> pgsq2");
    for (const name of ["postgres-switchover-gitlab-stop-gitlab", "postgres-switchover-gitlab-start-gitlab"]) assert.equal(stdin(idle, name), "\n", name);
    assert.equal(stdin(idle, "postgres-switchover-stop-pgsq2"), "\n\n");
    assert.equal(stdin(idle, "postgres-switchover-promote"), "\n\n");
    assert.equal((idle.outputs.database as Record<string, unknown>).switchover, "");
  });

  it("points GitLab at the configured primary and reports it in the outputs", () => {
    for (const [e, address, node] of [[before_, labAddress("pgsql"), "pgsql"], [after_, labAddress("pgsq2"), "pgsq2"]] as const) {
      const rb = gitlabRbOf(e, "gitlab");
      assert.ok(rb.includes(`gitlab_rails['db_host'] = '${address}'`), rb.slice(0, 400));
      const db = e.outputs.database as { primary: { node: string }; replication: string };
      assert.equal(db.primary.node, node);
      assert.equal(db.replication, "asynchronous");
    }
  });
});

describe("switchover output parsing", () => {
  it("reads the plan and the checkpoint, and refuses two old primaries", () => {
    assert.deepEqual(parseSwitchover("gitlab-ha: switchover: a -> b (resuming: a stopped half-way)\n"), { from: "a", to: "b", resuming: true });
    assert.deepEqual(parseSwitchover("gitlab-ha: switchover: a -> b\n"), { from: "a", to: "b", resuming: false });
    assert.equal(parseSwitchover(""), undefined);
    assert.equal(parseCheckpoint(["", "gitlab-ha: checkpoint: 0/3000028\n"]), "0/3000028");
    assert.equal(parseCheckpoint([undefined, ""]), "");
    assert.throws(() => parseCheckpoint(["gitlab-ha: checkpoint: 0/1\n", "gitlab-ha: checkpoint: 0/2\n"]), /more than one old primary/);
    assert.throws(() => parseCheckpoint(["gitlab-ha: checkpoint: 0/1;DROP\n"]), /unexpected checkpoint/);
  });
});

const base = () => ({
  hosts: [
    { name: "db1", address: "10.0.0.1", roles: ["postgres-primary"] },
    { name: "db2", address: "10.0.0.2", roles: ["postgres-standby"] },
    { name: "gl1", address: "10.0.0.3", roles: ["gitlab"] },
  ],
  ssh: { agent: true },
  firewall: { adminNetworks: ["10.0.0.0/8"] },
  gitlab: { version: "17.11.7", externalUrl: "https://gitlab.example.com" },
});
function issuesOf(values: Record<string, unknown>): ConfigIssue[] {
  try {
    validateConfig({ values, secretKeys: new Set() });
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return [...e.issues];
  }
  return [];
}
const has = (issues: ConfigIssue[], p: string, re: RegExp) =>
  assert.ok(issues.some((i) => i.path === p && re.test(i.message)), `no issue at ${p} matching ${re}: ${JSON.stringify(issues)}`);

describe("switchover and replication config", () => {
  it("accepts the swapped roles (a planned switchover is only a config change)", () => {
    const v = base();
    v.hosts[0]!.roles = ["postgres-standby"];
    v.hosts[1]!.roles = ["postgres-primary"];
    assert.deepEqual(issuesOf(v), []);
  });

  it("refuses two primaries and a host that is both primary and standby, by key path", () => {
    const v = base();
    v.hosts[1]!.roles = ["postgres-primary"];
    has(issuesOf(v), "hosts[1].roles", /only one host may have role postgres-primary/);
    v.hosts[1]!.roles = ["postgres-primary", "postgres-standby"];
    has(issuesOf(v), "hosts[1].roles", /both postgres-primary and postgres-standby/);
  });

  it("refuses a negative lag bound and a wait outside 5..3600 s", () => {
    const issues = issuesOf({ ...base(), postgres: { switchover: { maxLagBytes: -1, waitSeconds: 1 } } });
    has(issues, "postgres.switchover.maxLagBytes", /./);
    has(issues, "postgres.switchover.waitSeconds", /./);
  });

  it("refuses synchronous replication without a standby (every commit would wait), and the settings it owns in postgres.settings", () => {
    const v = { ...base(), postgres: { synchronous: { enabled: true }, settings: { synchronous_commit: "off", synchronous_standby_names: "x" } } };
    v.hosts = v.hosts.filter((h) => h.name !== "db2");
    const issues = issuesOf(v);
    has(issues, "postgres.synchronous.enabled", /needs a host with role postgres-standby/);
    has(issues, "postgres.settings.synchronous_commit", /managed by the program: postgres\.synchronous\.commit/);
    has(issues, "postgres.settings.synchronous_standby_names", /managed by the program/);
    has(issuesOf({ ...base(), postgres: { synchronous: { enabled: true, commit: "off" } } }), "postgres.synchronous.commit", /./);
  });

  it("renders synchronous replication only when enabled", () => {
    const off = renderPostgresConf(postgresSchema.parse({}));
    assert.ok(!/synchronous/.test(off));
    const on = renderPostgresConf(postgresSchema.parse({ synchronous: { enabled: true, commit: "remote_apply" } })).split("\n");
    assert.ok(on.includes("synchronous_standby_names = '*'"));
    assert.ok(on.includes("synchronous_commit = 'remote_apply'"));
  });
});
