// The host HA layer's pure parts: DRBD files, firewall rules derived from roles, failover files,
// the recovery report, and the graph the components declare.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rawConfig, validateConfig } from "../../components/config/load";
import { drbdSchema } from "../../components/config/schema";
import { renderGlobalCommon, renderResource } from "../../components/drbd/render";
import { firewallRules } from "../../components/firewall/firewall";
import { mountUnitOf } from "../../components/sentinel/failover";
import { parseReport, suggest } from "../../components/sentinel/recover";
import { readStackFile } from "../../components/offline/stack-file";
import { dependencies } from "../../components/offline/graph";
import { byName, evaluateStack, ROOT } from "../helpers";

const stackConfig = (stack: string) => {
  const f = readStackFile(ROOT, stack);
  return validateConfig(rawConfig(f.config, (k) => f.secretKeys.includes(k)), { project: f.project, stack }).config;
};

describe("DRBD renderers", () => {
  const nodes = [
    { name: "a", address: "10.0.0.1", nodeId: 0, disk: "/dev/vdb1" },
    { name: "b", address: "10.0.0.2", nodeId: 1, disk: "/dev/vdb1" },
    { name: "w", address: "10.0.0.3", nodeId: 2 },
  ];

  it("writes the runbook's global and common options", () => {
    const text = renderGlobalCommon(drbdSchema.parse({ initialPrimary: "a" }));
    // data-integrity-alg, after-sb-1pri and on-io-error changed after review (test/unit/drbd.test.ts).
    for (const l of ["usage-count no;", "protocol C;", 'transport "tcp";', "verify-alg sha1;", "csums-alg sha1;",
      "after-sb-0pri discard-zero-changes;", "after-sb-1pri consensus;", "after-sb-2pri disconnect;", "c-plan-ahead 5;",
      "c-max-rate 100M;", "c-fill-target 32M;", "on-io-error detach;", "disk-flushes yes;", "md-flushes yes;"]) {
      assert.ok(text.split("\n").some((x) => x.trim() === l), `missing ${l}`);
    }
  });

  it("gives the resource quorum, a diskless tiebreaker and a connection mesh", () => {
    const res = renderResource(drbdSchema.parse({ initialPrimary: "a" }), nodes);
    for (const l of ["auto-promote no;", "quorum majority;", "on-no-quorum io-error;", "on-no-data-accessible io-error;", "on-suspended-primary-outdated force-secondary;", "hosts a b w;", "disk none;", "address 10.0.0.3:7789;", "meta-disk internal;"]) {
      assert.ok(res.split("\n").some((x) => x.trim() === l), `missing ${l}`);
    }
    assert.equal(res.match(/meta-disk internal;/g)!.length, 2, "no metadata line for the diskless node");
    const off = renderResource(drbdSchema.parse({ initialPrimary: "a", quorum: "off", acknowledgeSplitBrainRisk: "accepted by x" }), nodes.slice(0, 2));
    assert.doesNotMatch(off, /quorum/);
  });
});

describe("firewall rules from roles", () => {
  const lab = stackConfig("lab");
  // Addresses and GitLab's ports are derived from the stack name (components/lab/slots.ts).
  const a = (h: string) => lab.hosts.find((x) => x.name === h)!.address;
  const gw = lab.firewall.adminNetworks[0];
  const rulesOf = (name: string) =>
    firewallRules(lab, lab.hosts.find((h) => h.name === name)!).map((r) => `${r.ports.join(",")} <- ${r.sources.join(" ")}`);

  it("opens PostgreSQL to database peers and GitLab hosts only, SSH to admins only", () => {
    assert.deepEqual(rulesOf("pgsql"), [
      `22 <- ${gw}`,
      `5432 <- ${a("pgsq2")}`,
      `5432 <- ${a("gitlab")} ${a("gitlab2")}`,
    ]);
  });

  it("opens DRBD to DRBD peers, the sentinel to the other data node, GitLab to its clients", () => {
    assert.deepEqual(rulesOf("gitlab"), [
      `22 <- ${gw}`,
      `${lab.gitlab.ports.http},${lab.gitlab.ports.https},${lab.gitlab.ports.ssh} <- 0.0.0.0/0 ::/0`,
      `7789 <- ${a("gitlab2")} ${a("witness")}`,
      `7980 <- ${a("gitlab2")}`,
    ]);
    assert.deepEqual(rulesOf("witness"), [`22 <- ${gw}`, `7789 <- ${a("gitlab")} ${a("gitlab2")}`]);
  });
});

describe("failover and recovery", () => {
  it("names mount units as systemd does", () => {
    assert.equal(mountUnitOf("/vdb"), "vdb.mount");
    assert.equal(mountUnitOf("/srv/git-lab"), "srv-git\\x2dlab.mount");
  });

  it("suggests the node with strictly the newest git data", () => {
    const a = parseReport("node=a role=Primary gi=ABC newest_git=200 mounted=yes failover=active gitlab=active peer:b=StandAlone");
    const b = parseReport("node=b role=Secondary gi=DEF newest_git=100 mounted=no failover=active gitlab=inactive peer:a=Connecting");
    assert.deepEqual(a, { node: "a", role: "Primary", gi: "ABC", newestGit: 200, mounted: true, failover: "active", gitlab: "active", peers: { b: "StandAlone" } });
    assert.equal(suggest([b, a]), "a");
    assert.equal(suggest([a, { ...b, newestGit: 200 }]), undefined, "a tie is the operator's call");
    assert.throws(() => parseReport("garbage"), /unexpected report line/);
  });

  it("installs the sentinel on data nodes only, after the volume, or drbd-reactor when chosen", async () => {
    const e = await evaluateStack("prod");
    const deps = dependencies(e.resources);
    const enable = byName(e, "failover-10-228-130-58-enable");
    assert.ok([...deps.get(enable.id)!].some((d) => d.endsWith("::failover-10-228-130-58-unit-write")));
    const unitWrite = byName(e, "failover-10-228-130-58-unit-write");
    assert.ok([...deps.get(unitWrite.id)!].some((d) => d.endsWith("::drbd-10-228-130-58-links")));
    assert.ok(!e.resources.some((r) => r.name.startsWith("failover-drbd-witness")), "the tiebreaker runs no GitLab");
    const initial = byName(e, "drbd-10-228-130-58-init");
    assert.ok([...deps.get(initial.id)!].some((d) => d.endsWith("::drbd-10-228-130-59-init")), "peers are initialised before the initial primary");
    assert.equal(initial.options.deleteBeforeReplace, true);

    const reactor = await evaluateStack("prod", { overrides: { failover: { engine: "drbd-reactor" } } });
    assert.match(String(byName(reactor, "failover-10-228-130-58-promoter").display.content), /\[promoter\.resources\.gitlab\]\nstart = \["vdb\.mount", "gitlab-container\.service"\]/);
    assert.ok(!reactor.resources.some((r) => r.name.startsWith("failover-") && r.name.endsWith("-unit-write")), "no sentinel unit with drbd-reactor");
  });
});
