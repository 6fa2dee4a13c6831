// The mandatory policies, called directly (as the pack and the offline render call them).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { packPolicies } from "../../components/policy/pack/policies";
import { checkAll, POLICIES, type ResourceView } from "../../components/policy/pack/checks";
import { policyViolations } from "../../components/offline/render";
import { evaluateStack } from "../helpers";

const cmd = (create: string, o: Partial<ResourceView> = {}): ResourceView => ({ type: "command:remote:Command", name: "c", props: { create }, ...o });
const file = (path: string, content: string): ResourceView => ({ type: "gitlab-ha:host:File", name: "f", props: { path, content } });
const names = (r: ResourceView) => checkAll([r]).map((v) => v.policy);

describe("mandatory policies", () => {
  it("flag secrets in plain inputs", () => {
    assert.deepEqual(names(cmd("[secret]")), ["no-secret-in-plain-inputs"]);
    assert.deepEqual(names(cmd("psql -c \"ALTER ROLE x PASSWORD 'SCRAM-SHA-256$4096:abc'\"")), ["no-secret-in-plain-inputs"]);
    assert.deepEqual(names(cmd("gitlab-runner register --token glrt-abcdefghijkl1234")), ["no-secret-in-plain-inputs"]);
    assert.deepEqual(names({ type: "docker:index/container:Container", name: "g", props: { envs: ["PGPASSWORD=hunter2"] } }), ["no-secret-in-plain-inputs"]);
    assert.deepEqual(names(cmd("echo ok", { props: { create: "echo ok", stdin: "[secret]" } })), [], "stdin is where secrets belong");
  });

  it("flag destructive steps that could run twice at once", () => {
    assert.deepEqual(names(cmd("mkfs.ext4 /dev/drbd0")), ["destructive-steps-protected"]);
    assert.deepEqual(names(cmd("pg_basebackup -D x")), ["destructive-steps-protected"]);
    assert.deepEqual(names(cmd("mkfs.ext4 /dev/drbd0", { deleteBeforeReplace: true })), []);
    assert.deepEqual(names(cmd("drbdadm create-md r", { protect: true })), []);
  });

  it("require DRBD quorum over three nodes or a named acknowledgement", () => {
    const res = (body: string) => file("/etc/drbd.d/gitlab.res", body);
    const on = (n: string) => `  on ${n} {\n  }\n`;
    assert.deepEqual(names(res(`resource gitlab {\n  options {\n    quorum majority;\n  }\n${on("a")}${on("b")}}\n`)), ["drbd-quorum-or-acknowledged-risk"]);
    assert.deepEqual(names(res(`resource gitlab {\n  options {\n    quorum majority;\n  }\n${on("a")}${on("b")}${on("w")}}\n`)), []);
    assert.deepEqual(names(res(`# split-brain risk acknowledged: J. Doe\nresource gitlab {\n${on("a")}${on("b")}}\n`)), []);
  });

  it("refuse pg_hba entries and firewall rules open to everyone, except GitLab's client ports", () => {
    assert.deepEqual(names(file("/etc/postgresql/16/main/pg_hba.conf", "host all gitlab 0.0.0.0/0 scram-sha-256\n")), ["no-rule-open-to-everyone"]);
    assert.deepEqual(names(file("/etc/postgresql/16/main/pg_hba.conf", "host all all 0.0.0.0/0 reject\nhost all gitlab 10.0.0.1/32 scram-sha-256 # gl\n")), []);
    const rules = (l: string) => file("/etc/gitlab-ha/iptables.rules", `*filter\n${l}\nCOMMIT\n`);
    assert.deepEqual(names(rules('-A GITLAB-HA-INPUT -p tcp -m tcp --dport 5432 -m comment --comment "pg" -j ACCEPT')), ["no-rule-open-to-everyone"]);
    assert.deepEqual(names(rules('-A GITLAB-HA-INPUT -s 10.0.0.2/32 -p tcp -m tcp --dport 5432 -m comment --comment "pg" -j ACCEPT')), []);
    assert.deepEqual(names(rules('-A GITLAB-HA-INPUT -p tcp -m tcp --dport 443 -m comment --comment "gitlab clients: http https ssh" -j ACCEPT\n' +
      '-A GITLAB-HA-DOCKER -p tcp -m conntrack --ctstate DNAT --ctorigdstport 443 --ctdir ORIGINAL -j REJECT --reject-with tcp-reset')), []);
  });

  it("refuse privileged containers", () => {
    assert.deepEqual(names({ type: "docker:index/container:Container", name: "c", props: { privileged: true } }), ["no-privileged-containers"]);
  });

  it("pass on the repository's stacks, as the render reports them", async () => {
    for (const stack of ["prod", "lab"]) assert.deepEqual(policyViolations(await evaluateStack(stack)), [], stack);
  });

  it("catch a stack whose config opens SSH to everyone", async () => {
    const e = await evaluateStack("lab", {
      overrides: { firewall: { adminNetworks: ["0.0.0.0/0"] } },
    });
    const v = policyViolations(e);
    assert.ok(v.some((x) => x.policy === "no-rule-open-to-everyone" && x.message.includes("--dport 22")), JSON.stringify(v));
  });

  it("are the pack's policies, all mandatory, reporting through the policy SDK", () => {
    assert.deepEqual(packPolicies.map((p) => p.name), POLICIES.map((p) => p.name));
    const reported: string[] = [];
    const args = { type: "docker:index/container:Container", name: "c", props: { privileged: true }, opts: { deleteBeforeReplace: false, protect: false } };
    for (const p of packPolicies) {
      assert.equal(p.enforcementLevel, "mandatory");
      const validate = p.validateResource as (a: unknown, report: (m: string) => void) => void;
      validate(args, (m) => reported.push(`${p.name}: ${m}`));
    }
    assert.deepEqual(reported, ["no-privileged-containers: privileged container"]);
  });
});
