// The stack config model: defaults, the repository's stacks, and every kind of bad input, each
// reported with its key path in one error before anything is created.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, rawConfig, validateConfig } from "../../components/config/load";
import type { ConfigIssue } from "../../components/config/rules";
import { readStackFile } from "../../components/offline/stack-file";
import { ROOT } from "../helpers";

type Values = Record<string, unknown>;

const base = (): Values => ({
  hosts: [
    { name: "db1", address: "10.0.0.1", roles: ["postgres-primary"] },
    { name: "db2", address: "10.0.0.2", roles: ["postgres-standby"] },
    { name: "gl1", address: "10.0.0.3", roles: ["gitlab"] },
  ],
  ssh: { agent: true },
  firewall: { adminNetworks: ["10.0.0.0/8"] },
  gitlab: { version: "17.11.7", externalUrl: "https://gitlab.example.com" },
});

const validate = (values: Values, secretKeys: string[] = []) => validateConfig({ values, secretKeys: new Set(secretKeys) }, { project: "gitlab-ha", stack: "unit" });

function issuesOf(values: Values, secretKeys: string[] = []): ConfigIssue[] {
  try {
    validate(values, secretKeys);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return [...e.issues];
  }
  return [];
}

/** Asserts that an issue exists at `path` whose message matches `pattern`. */
function assertIssue(issues: ConfigIssue[], path: string, pattern: RegExp): void {
  const at = issues.filter((i) => i.path === path);
  assert.ok(at.length > 0, `no issue at ${path}; issues: ${JSON.stringify(issues)}`);
  assert.ok(at.some((i) => pattern.test(i.message)), `issue at ${path} does not match ${pattern}: ${JSON.stringify(at)}`);
}

const withHost = (i: number, patch: Values): Values => {
  const v = base();
  const hosts = v.hosts as Values[];
  hosts[i] = { ...hosts[i], ...patch };
  return v;
};

describe("stack config", () => {
  it("fills every default from the schema", () => {
    const { config } = validate(base());
    assert.equal(config.postgres.version, 16);
    assert.equal(config.postgres.port, 5432);
    assert.equal(config.postgres.database, "gitlabhq_production");
    assert.equal(config.postgres.replicationUser, "backup");
    assert.deepEqual(config.postgres.extensions, ["pg_trgm", "btree_gist", "plpgsql"]);
    assert.equal(config.hosts[0]!.os, "debian-12");
    assert.equal(config.ssh.user, "root");
    assert.equal(config.ssh.port, 22);
    assert.equal(config.lab, undefined);
  });

  for (const stack of ["prod", "lab"]) {
    it(`accepts the repository's ${stack} stack as the CLI would pass it`, () => {
      const file = readStackFile(ROOT, stack);
      const { config } = validateConfig(rawConfig(file.config, (k) => file.secretKeys.includes(k)), { project: file.project, stack });
      assert.ok(config.hosts.some((h) => h.roles.includes("postgres-primary")));
      assert.ok(config.hosts.some((h) => h.roles.includes("postgres-standby")));
      assert.equal(config.lab !== undefined, stack === "lab");
    });
  }

  it("treats Pulumi.yaml's unset markers as unset", () => {
    const { secrets, config } = validate({ ...base(), lab: {}, sshPrivateKey: "", postgresGitlabPassword: "" });
    assert.equal(config.lab, undefined);
    assert.deepEqual(Object.keys(secrets), []);
  });

  it("reports unknown keys at every level", () => {
    const v = withHost(0, { colour: "blue" });
    v.bogus = 1;
    v.postgres = { verison: 16 };
    const issues = issuesOf(v);
    assertIssue(issues, "bogus", /unknown config key/);
    assertIssue(issues, "hosts[0].colour", /unknown key/);
    assertIssue(issues, "postgres.verison", /unknown key/);
  });

  it("reports wrong types and malformed values with their paths", () => {
    const v = withHost(0, { address: "10.0.0.300", ssh: { port: "22" } });
    v.postgres = { version: "sixteen", port: 70000 };
    const issues = issuesOf(v);
    assertIssue(issues, "hosts[0].address", /IPv4 or IPv6/);
    assertIssue(issues, "hosts[0].ssh.port", /number/);
    assertIssue(issues, "postgres.version", /number/);
    assertIssue(issues, "postgres.port", /1 to 65535/);
  });

  it("reports duplicate host names, addresses and SSH endpoints", () => {
    const issues = issuesOf(withHost(1, { name: "db1", address: "10.0.0.1" }));
    assertIssue(issues, "hosts[1].name", /duplicate host name 'db1'.*hosts\[0\]\.name/);
    assertIssue(issues, "hosts[1].address", /duplicate address '10\.0\.0\.1'/);
    assertIssue(issues, "hosts[1].ssh", /duplicate SSH endpoint/);
  });

  it("reports a standby or GitLab host without a primary, and two primaries", () => {
    const noPrimary = issuesOf(withHost(0, { roles: ["gitlab"] }));
    assertIssue(noPrimary, "hosts[1].roles", /postgres-standby needs a host with role postgres-primary/);
    assertIssue(noPrimary, "hosts[0].roles", /gitlab host needs a host with role postgres-primary/);
    const two = issuesOf(withHost(1, { roles: ["postgres-primary"] }));
    assertIssue(two, "hosts[1].roles", /only one host may have role postgres-primary/);
    assertIssue(issuesOf(withHost(0, { roles: ["postgres-primary", "postgres-primary"] })), "hosts[0].roles[1]", /listed twice/);
  });

  it("reports a role given to an undeclared host", () => {
    const v = base();
    v.postgres = { rebuildStandbys: { ghost: "2026-11-25", gl1: "x" } };
    const issues = issuesOf(v);
    assertIssue(issues, "postgres.rebuildStandbys.ghost", /not declared in hosts/);
    assertIssue(issues, "postgres.rebuildStandbys.gl1", /does not have role postgres-standby/);
  });

  it("reports a PostgreSQL version the hosts' OS cannot install", () => {
    const old = base();
    old.postgres = { version: 12 };
    assertIssue(issuesOf(old), "postgres.version", /PostgreSQL 12 cannot be installed from pgdg on hosts\[0\] \(debian-12\); available there: 13, 14/);
    const distro = base();
    distro.postgres = { version: 16, packageSource: "distribution" };
    assertIssue(issuesOf(distro), "postgres.version", /from distribution on hosts\[0\] \(debian-12\); available there: 15$/);
    const el = withHost(1, { os: "el9" });
    el.postgres = { version: 16, packageSource: "distribution" };
    assertIssue(issuesOf(el), "postgres.version", /hosts\[1\] \(el9\); use packageSource 'pgdg'/);
    assertIssue(issuesOf(withHost(0, { os: "centos-7" })), "hosts[0].os", /expected one of/);
  });

  it("lists every problem in one error", () => {
    const v = withHost(1, { name: "db1", address: "nope" });
    v.bogus = true;
    v.postgres = { version: 9, settings: { wal_level: "minimal" } };
    try {
      validate(v);
      assert.fail("expected a ConfigError");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      for (const path of ["bogus", "hosts[1].name", "hosts[1].address", "postgres.version", "postgres.settings.wal_level"]) {
        assert.match(e.message, new RegExp(`  - ${path.replace(/[[\].]/g, "\\$&")}: `), `message lacks ${path}:\n${e.message}`);
      }
      assert.match(e.message, /^Invalid stack configuration \(\d+ problems\); nothing was changed:/);
    }
  });

  it("requires secrets to be secure values, and nothing else to be", () => {
    const v = { ...base(), postgresGitlabPassword: "hunter2hunter2", postgres: {} };
    const issues = issuesOf(v, ["postgres"]);
    assertIssue(issues, "postgresGitlabPassword", /must be a secret: pulumi config set --secret postgresGitlabPassword/);
    assertIssue(issues, "postgres", /holds a secure value/);
    const { secrets } = validate({ ...base(), postgresGitlabPassword: "hunter2hunter2" }, ["postgresGitlabPassword"]);
    assert.ok(pulumi.Output.isInstance(secrets.postgresGitlabPassword));
  });

  it("requires exactly one SSH credential, and a key for lab stacks", () => {
    assertIssue(issuesOf({ ...base(), ssh: {} }), "ssh", /expected one SSH credential/);
    assertIssue(issuesOf({ ...base(), sshPrivateKey: "k" }, ["sshPrivateKey"]), "ssh", /got the secret sshPrivateKey and ssh.agent/);
    const lab = { ...base(), lab: { network: { name: "n", subnet: "10.0.0.0/24" } } };
    const issues = issuesOf(lab);
    assertIssue(issues, "ssh.agent", /lab stack/);
    const outside = withHost(0, { address: "10.9.0.1", ssh: { port: 2201 } });
    outside.lab = { network: { name: "n", subnet: "10.0.0.0/24" } };
    outside.ssh = { privateKeyFile: "k" };
    assertIssue(issuesOf(outside), "hosts[0].address", /inside lab.network.subnet 10.0.0.0\/24/);
  });

  it("keeps managed PostgreSQL settings out of postgres.settings", () => {
    const v = base();
    v.postgres = { settings: { wal_level: "minimal", work_mem: "64MB" } };
    const issues = issuesOf(v);
    assertIssue(issues, "postgres.settings.wal_level", /managed by the program/);
    assert.equal(issues.length, 1);
  });

  it("relies on the runtime's isConfigSecret (internal API), which must exist", () => {
    assert.equal(typeof (pulumi.runtime as unknown as Record<string, unknown>).isConfigSecret, "function");
  });

  describe("DRBD and the host HA layer", () => {
    const ha = (): Values => ({
      ...base(),
      hosts: [
        // GitLab runs on the DRBD nodes only (a plain gitlab host beside them is refused): gl1 runs runners.
        ...(base().hosts as Values[]).map((h) => (h.name === "gl1" ? { ...h, roles: ["runner"] } : h)),
        { name: "n1", address: "10.0.1.1", roles: ["gitlab", "drbd"], drbd: { nodeId: 0, disk: "/dev/vdb1" } },
        { name: "n2", address: "10.0.1.2", roles: ["gitlab", "drbd"], drbd: { nodeId: 1, disk: "/dev/vdb1" } },
        { name: "w", address: "10.0.1.3", roles: ["drbd-tiebreaker"], drbd: { nodeId: 2 } },
      ],
      drbd: { initialPrimary: "n1" },
    });
    const patchHost = (v: Values, name: string, patch: Values) => {
      const hosts = v.hosts as Values[];
      const i = hosts.findIndex((h) => h.name === name);
      hosts[i] = { ...hosts[i], ...patch };
      return v;
    };

    it("accepts two data nodes with a diskless tiebreaker, with the runbook's options as defaults", () => {
      const { config } = validate(ha());
      assert.equal(config.drbd!.quorum, "majority");
      assert.equal(config.drbd!.net.afterSb0pri, "discard-zero-changes");
      assert.equal(config.drbd!.net.afterSb1pri, "consensus");
      assert.equal(config.drbd!.disk.cMaxRate, "100M");
      assert.equal(config.failover.sentinel.port, 7980);
    });

    it("refuses two data nodes without a tiebreaker unless the risk is acknowledged by name", () => {
      const v = ha();
      v.hosts = (v.hosts as Values[]).filter((h) => h.name !== "w");
      assertIssue(issuesOf(v), "drbd", /split brain.*drbd-tiebreaker.*acknowledgeSplitBrainRisk/);
      const off = ha();
      (off.drbd as Values).quorum = "off";
      assertIssue(issuesOf(off), "drbd", /quorum off/);
      (v.drbd as Values).acknowledgeSplitBrainRisk = "accepted by J. Doe, CHG-1234";
      assert.deepEqual(issuesOf(v), []);
    });

    it("reports DRBD nodes without node id or disk, duplicate ids and bad disk paths", () => {
      const v = patchHost(patchHost(ha(), "n2", { drbd: { nodeId: 0, disk: "vdb1" } }), "w", { drbd: { nodeId: 2, disk: "/dev/vdc" } });
      patchHost(v, "n1", { drbd: undefined });
      const issues = issuesOf(v);
      assertIssue(issues, "hosts[3].drbd", /expected \{ nodeId, disk \}/);
      assertIssue(issues, "hosts[4].drbd.disk", /block device path under \/dev/);
      assertIssue(issues, "hosts[5].drbd.disk", /tiebreaker is diskless/);
      const dup = patchHost(ha(), "n2", { drbd: { nodeId: 0, disk: "/dev/vdb1" } });
      assertIssue(issuesOf(dup), "hosts[4].drbd.nodeId", /duplicate node id 0: already used by hosts\[3\]/);
      const noAddress = patchHost(ha(), "n2", { address: undefined });
      assertIssue(issuesOf(noAddress), "hosts[4].address", /expected string/);
    });

    it("requires the drbd section for DRBD roles and a data node as initial primary", () => {
      const none = ha();
      delete none.drbd;
      assertIssue(issuesOf(none), "drbd", /expected the drbd section/);
      const ghost = ha();
      (ghost.drbd as Values).initialPrimary = "ghost";
      assertIssue(issuesOf(ghost), "drbd.initialPrimary", /not declared in hosts/);
      (ghost.drbd as Values).initialPrimary = "w";
      assertIssue(issuesOf(ghost), "drbd.initialPrimary", /does not have role drbd/);
    });

    it("reports a port that one role takes from another on the same host", () => {
      const v = ha();
      (v.drbd as Values).port = 443;
      v.failover = { sentinel: { port: 2222 } };
      v.postgres = { port: 22 };
      const issues = issuesOf(v);
      assertIssue(issues, "drbd.port", /port 443 on hosts\[3\] \(n1\) is also claimed by gitlab.ports.https/);
      assertIssue(issues, "failover.sentinel.port", /port 2222 .* also claimed by gitlab.ports.ssh/);
      assertIssue(issues, "postgres.port", /port 22 on hosts\[0\] \(db1\) is already used by ssh.port/);
    });

    it("requires admin networks while the firewall is managed", () => {
      assertIssue(issuesOf({ ...base(), firewall: {} }), "firewall.adminNetworks", /SSH/);
      assert.deepEqual(issuesOf({ ...base(), firewall: { enabled: false } }), []);
    });
  });

  describe("GitLab versions and upgrade stops", () => {
    const at = (version: string, runningVersion?: string, postgres: Values = {}) => ({
      ...base(),
      gitlab: { version, externalUrl: "https://gitlab.example.com", ...(runningVersion ? { runningVersion } : {}) },
      postgres,
    });

    it("prints the exact path when an upgrade skips required stops (the runbook's own path)", () => {
      assertIssue(
        issuesOf(at("13.3.5", "12.5.3", { version: 13 })),
        "gitlab.version",
        /^12\.5\.3 -> 13\.3\.5 skips required upgrade stops; follow 12\.5\.3 -> 12\.10\.14 -> 13\.0\.14 -> 13\.1\.11 -> 13\.3\.5, one converge per version \(set gitlab.version to 12\.10\.14 first\)/,
      );
      // Upgrade stops only: GitLab 12.10/13.0 bundle no pg_dump for PostgreSQL 13 (postgres/gitlab-pg-clients.ts).
      const stops = (i: ReturnType<typeof issuesOf>) => i.filter((x) => x.path === "gitlab.version");
      assert.deepEqual(stops(issuesOf(at("12.10.14", "12.5.3", { version: 13 }))), [], "the next stop is allowed");
      assert.deepEqual(stops(issuesOf(at("13.0.14", "12.10.14", { version: 13 }))), []);
    });

    it("checks current versions too, and refuses downgrades", () => {
      assertIssue(issuesOf(at("18.5.2", "17.3.7", { extensions: ["pg_trgm", "btree_gist", "plpgsql", "amcheck"] })), "gitlab.version",
        /follow 17\.3\.7 -> 17\.5\.5 -> 17\.8\.7 -> 17\.11\.7 -> 18\.2\.x \(latest patch\) -> 18\.5\.2/);
      assert.deepEqual(issuesOf(at("17.11.7", "17.8.7")), []);
      assertIssue(issuesOf(at("17.8.7", "17.11.7")), "gitlab.version", /cannot be downgraded/);
    });

    it("refuses a PostgreSQL too old for the target, and missing extensions", () => {
      assertIssue(issuesOf(at("18.5.2", undefined, { version: 15 })), "postgres.version", /GitLab 18\.5\.2 needs PostgreSQL 16 or later, config has 15/);
      assertIssue(issuesOf(at("18.5.2")), "postgres.extensions", /needs the extension\(s\) amcheck/);
      assertIssue(issuesOf(at("13.1.0", undefined, { version: 13, extensions: ["pg_trgm"] })), "postgres.extensions", /plpgsql, btree_gist/);
    });

    it("requires a version for GitLab hosts and rejects what is not one", () => {
      const none = base();
      delete none.gitlab;
      assertIssue(issuesOf(none), "gitlab.version", /has role gitlab: expected the GitLab version/);
      assertIssue(issuesOf(at("17.11")), "gitlab.version", /expected a GitLab version like 17\.11\.7/);
      const badUrl = at("17.11.7");
      (badUrl.gitlab as Values).externalUrl = "gitlab.example.com";
      assertIssue(issuesOf(badUrl), "gitlab.externalUrl", /expected an http:\/\/ or https:\/\/ URL/);
    });
  });
});
