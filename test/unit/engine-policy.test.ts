// The policy pack under the real CLI: `pulumi preview --policy-pack components/policy/pack`. With
// no nodejs language plugin the engine runs the analyzer plugin `pulumi-analyzer-policy-nodejs`
// (pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go NewPolicyAnalyzer: cwd = the
// pack's folder, args `<engine address> .`); .ci/engine/build installs the project's launcher of
// @pulumi/pulumi's run-policy-pack under that name. A compliant program passes; a violating one is
// refused with the policy's name.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { local } from "@pulumi/command";
import { engineStack, findEngine } from "../../.ci/engine/workspace";
import { requireTool, ROOT } from "../helpers";

const ENGINE = findEngine();
const PACK = path.join(ROOT, "components", "policy", "pack");

describe("the policy pack under the Pulumi CLI", { skip: requireTool("the Pulumi engine", ENGINE.kind !== "none", ENGINE.kind === "none" ? ENGINE.reason : "") }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-ha-policy-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const previewWith = async (name: string, create: pulumi.Input<string>) => {
    const stack = await engineStack({
      stackName: name,
      projectName: "policy-test",
      backendDir: path.join(dir, "state"),
      program: async () => {
        new local.Command("step", { create });
      },
    });
    let out = "";
    const result = await stack.preview({ policyPacks: [PACK], onOutput: (s) => (out += s) }).then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    return { result, out };
  };

  it("passes a compliant program", async () => {
    const { result, out } = await previewWith("compliant", "echo hello");
    assert.ok(result.ok, out);
    assert.match(out, /Policies:[\s\S]*gitlab-ha@v0\.1\.0/, "the pack ran");
  });

  it("refuses a program that breaks a mandatory policy, naming the policy", async () => {
    const { result, out } = await previewWith("violating", "PGPASSWORD=hunter2 psql -c 'select 1'");
    assert.equal(result.ok, false, out);
    assert.match(out, /\[mandatory\]\s+no-secret-in-plain-inputs\s+\(command:local:Command: step\)/);
    assert.match(out, /create contains a password assignment/);
  });
});
