// Config input the program used to accept silently (issue 17, points 5 and 10): GitLab nodes that
// do not share the volume, keys in a mistyped namespace, bad networks under a generic message,
// and tokens in plain keys. Each is refused with its key path before anything is created.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, rawConfig, validateConfig } from "../../components/config/load";
import type { ConfigIssue } from "../../components/config/rules";
import { readStackFile } from "../../components/offline/stack-file";
import { ROOT } from "../helpers";

type Values = Record<string, unknown>;

const base = (): Values => ({
  hosts: [
    { name: "db1", address: "10.0.0.1", roles: ["postgres-primary"] },
    { name: "gl1", address: "10.0.0.3", roles: ["gitlab"] },
  ],
  ssh: { agent: true },
  firewall: { adminNetworks: ["10.0.0.0/8"] },
  gitlab: { version: "17.11.7", externalUrl: "https://gitlab.example.com" },
});

function issuesOfRaw(all: Record<string, string>, secret: string[] = []): ConfigIssue[] {
  try {
    validateConfig(rawConfig(all, (k) => secret.includes(k)), { project: "gitlab-ha", stack: "unit" });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return [...e.issues];
  }
  return [];
}
const asCli = (values: Values): Record<string, string> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [`gitlab-ha:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
const issuesOf = (values: Values) => issuesOfRaw(asCli(values));

function assertIssue(issues: ConfigIssue[], path: string, pattern: RegExp): void {
  const at = issues.filter((i) => i.path === path);
  assert.ok(at.some((i) => pattern.test(i.message)), `no issue at ${path} matching ${pattern}; issues: ${JSON.stringify(issues)}`);
}

describe("GitLab topology (issue 17 point 5)", () => {
  it("refuses two GitLab nodes that do not share the DRBD volume, naming each", () => {
    const v = base();
    (v.hosts as Values[]).push({ name: "gl2", address: "10.0.0.4", roles: ["gitlab"] });
    const issues = issuesOf(v);
    assertIssue(issues, "hosts[1].roles", /gitlab-secrets\.json.*migrations.*role drbd/);
    assertIssue(issues, "hosts[2].roles", /'gl2' does not share the DRBD volume/);
  });

  it("refuses a plain GitLab node beside DRBD ones", () => {
    const v = base();
    const hosts = v.hosts as Values[];
    hosts[1] = { name: "gl1", address: "10.0.0.3", roles: ["gitlab", "drbd"], drbd: { nodeId: 0, disk: "/dev/vdb1" } };
    hosts.push({ name: "gl2", address: "10.0.0.4", roles: ["gitlab", "drbd"], drbd: { nodeId: 1, disk: "/dev/vdb1" } });
    hosts.push({ name: "w", address: "10.0.0.5", roles: ["drbd-tiebreaker"], drbd: { nodeId: 2 } });
    hosts.push({ name: "gl3", address: "10.0.0.6", roles: ["gitlab"] });
    v.drbd = { initialPrimary: "gl1" };
    const issues = issuesOf(v);
    assertIssue(issues, "hosts[4].roles", /'gl3' does not share the DRBD volume/);
    assert.equal(issues.filter((i) => /DRBD volume/.test(i.message)).length, 1, JSON.stringify(issues));
  });

  it("accepts one plain GitLab node, and the repository's stacks (lab: gitlab and gitlab2 on DRBD)", () => {
    assert.deepEqual(issuesOf(base()), []);
    for (const stack of ["lab", "prod"]) {
      const f = readStackFile(ROOT, stack);
      const issues = issuesOfRaw(f.config, f.secretKeys);
      assert.deepEqual(issues, [], `${stack}: ${JSON.stringify(issues)}`);
    }
  });
});

describe("config input (issue 17 point 10)", () => {
  it("refuses a key in a namespace the program does not read, and says which was meant", () => {
    const all = { ...asCli(base()), "gitlab_ha:runners": JSON.stringify({ runners: [] }) };
    assertIssue(issuesOfRaw(all), "gitlab_ha:runners", /unknown config namespace 'gitlab_ha' \(did you mean gitlab-ha:runners\?\)/);
  });

  it("lets the providers' and the engine's namespaces through", () => {
    const all = { ...asCli(base()), "docker:host": "unix:///var/run/docker.sock", "command:x": "1", "random:y": "2", "pulumi:tags": "{}" };
    assert.deepEqual(issuesOfRaw(all), []);
  });

  it("says 'expected a network in CIDR form' for a bad admin or client network", () => {
    const v = base();
    v.firewall = { adminNetworks: ["10.0.0.0/33"], gitlabClientNetworks: ["0.0.0.0/0", "not-a-net"] };
    const issues = issuesOf(v);
    assertIssue(issues, "firewall.adminNetworks[0]", /expected a network in CIDR form/);
    assertIssue(issues, "firewall.gitlabClientNetworks[1]", /expected a network in CIDR form/);
  });

  it("refuses a runner token in a plain key and names runnerTokens", () => {
    const v = base();
    v.gitlab = { ...(v.gitlab as Values), extraConfig: ["gitlab_rails['x'] = 'glrt-abcdefghij0123456789'"] };
    assertIssue(issuesOf(v), "gitlab.extraConfig[0]", /runner token.*secret runnerTokens/);
    const w = base();
    (w.hosts as Values[]).push({ name: "r1", address: "10.0.0.9", roles: ["runner"] });
    w.runners = { runners: [{ name: "r", host: "r1", executor: "shell", environment: ["REG=GR1348941abcdefghijkl"] }] };
    assertIssue(issuesOf(w), "runners.runners[0].environment[0]", /runner token.*runnerTokens/);
  });

  it("refuses a private key in a plain key and names sshPrivateKey", () => {
    const v = base();
    v.gitlab = { ...(v.gitlab as Values), extraConfig: ["# -----BEGIN OPENSSH PRIVATE KEY-----"] };
    assertIssue(issuesOf(v), "gitlab.extraConfig[0]", /secret sshPrivateKey/);
  });
});
