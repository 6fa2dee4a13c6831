// What the real engine keeps in state and how it updates: command outputs of secret steps
// encrypted, no previous output sent with SSH setenv, component inputs slim and without
// plaintext secrets (a component's args are sent to the engine and stored).
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Evaluation } from "../../components/offline/evaluate";
import { commandsOf, evaluateStack } from "../helpers";

const SECRET = "[secret]";

describe("state written by the engine", () => {
  let e: Evaluation;
  before(async () => {
    e = await evaluateStack("lab");
  });

  it("keeps the output of every step that handles a secret encrypted", () => {
    const secretSteps = commandsOf(e).filter((c) => c.display.stdin === SECRET);
    assert.ok(secretSteps.length >= 2, `only ${secretSteps.length} secret steps`);
    for (const c of secretSteps) {
      const secretOutputs = c.options.additionalSecretOutputs ?? [];
      assert.ok(secretOutputs.includes("stdout") && secretOutputs.includes("stderr"), `${c.name}: ${secretOutputs.join(",")}`);
    }
  });

  it("never asks the provider to send a step's previous output through SSH setenv", () => {
    for (const c of commandsOf(e)) assert.equal(c.values.addPreviousOutputInEnv, false, c.name);
  });

  it("records a host file's host by name, not its connection", () => {
    const files = e.resources.filter((r) => r.type === "gitlab-ha:host:File");
    assert.ok(files.length > 10);
    for (const f of files) {
      assert.equal(typeof f.display.host, "string", f.name);
      assert.ok(!JSON.stringify(f.display).includes("privateKey"), `${f.name} keeps a connection in its inputs`);
    }
  });

  it("creates a container that is started later with mustRun false, or the provider deletes it on read", () => {
    const containers = e.resources.filter((r) => r.type === "docker:index/container:Container");
    const stopped = containers.filter((c) => c.values.start === false);
    assert.ok(stopped.length >= 2, "the lab's GitLab nodes are DRBD nodes: their containers are created stopped");
    for (const c of containers) assert.equal(c.values.mustRun ?? true, c.values.start !== false, c.name);
  });

  it("protects generated passwords in stacks whose hosts outlive them, not in lab stacks", async () => {
    const passwords = (x: Evaluation) => x.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword");
    const prod = await evaluateStack("prod");
    assert.equal(passwords(prod).length, 2);
    for (const p of passwords(prod)) assert.equal(p.options.protect, true, p.name);
    assert.equal(passwords(e).length, 2);
    for (const p of passwords(e)) assert.equal(p.options.protect, undefined, `${p.name}: the lab is destroyed as a whole`);
  });
});

describe("Docker engines over ssh://", () => {
  it("refuse unknown host keys (nobody answers ssh's question under pulumi up), from a configured known_hosts when given", async () => {
    const prod = await evaluateStack("prod");
    const providers = prod.resources.filter((r) => r.type === "pulumi:providers:docker");
    assert.ok(providers.length >= 2);
    for (const p of providers) {
      assert.match(String(p.values.host), /^ssh:\/\//, p.name);
      // The SDK sends sshOpts as JSON text (@pulumi/docker provider.ts).
      assert.deepEqual(JSON.parse(String(p.values.sshOpts)), ["-o", "StrictHostKeyChecking=yes"], `${p.name}: the user's own known_hosts by default`);
    }
    const pinned = await evaluateStack("prod", { overrides: { ssh: { user: "root", agent: true, knownHostsFile: "ops/known_hosts" } } });
    for (const p of pinned.resources.filter((r) => r.type === "pulumi:providers:docker")) {
      assert.deepEqual(JSON.parse(String(p.values.sshOpts)), ["-o", "UserKnownHostsFile=ops/known_hosts", "-o", "StrictHostKeyChecking=yes"], p.name);
    }
  });
});
