// The real Pulumi engine (built by .ci/engine/build, or a complete one on PATH) on throw-away
// copies of the project: what the CLI checks before any program runs, and prod's secrets set the
// way the README tells operators to, then `preview --diff` of prod planning every resource. A
// local file backend in a temp dir; no host is contacted (an `ssh` stand-in records any attempt).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { engineStack, findEngine, projectProgram } from "../../.ci/engine/workspace";
import { evaluateProgram } from "../../components/offline/evaluate";
import { requireTool, ROOT } from "../helpers";

const ENGINE = findEngine();
const CLI = ENGINE.kind === "none" ? undefined : ENGINE.pulumi;

function workspace(stackFiles: string[], passphrase = "") {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-ha-cli-"));
  for (const f of ["Pulumi.yaml", "package.json", ...stackFiles]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  fs.mkdirSync(path.join(dir, "state"));
  const env = {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: passphrase,
    PULUMI_HOME: ENGINE.kind !== "none" && ENGINE.pulumiHome ? ENGINE.pulumiHome : path.join(dir, "home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
  const pulumi = (args: string[], input?: string) => {
    const r = spawnSync(CLI!, args, { cwd: dir, env, encoding: "utf8", input: input ?? "", timeout: 120_000 });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
  };
  return { dir, pulumi };
}

describe("the Pulumi CLI on this project", { skip: requireTool("the Pulumi engine", CLI !== undefined, ENGINE.kind === "none" ? ENGINE.reason : "") }, () => {
  it("refuses an object-valued key of the wrong shape, naming the key, before any program runs", () => {
    const { dir, pulumi } = workspace(["Pulumi.lab.yaml"]);
    assert.equal(pulumi(["stack", "init", "lab", "--non-interactive"]).code, 0);
    const good = pulumi(["config", "--stack", "lab", "--json"]);
    assert.equal(good.code, 0, good.out);
    assert.doesNotMatch(good.out, /validating stack config/);

    const file = path.join(dir, "Pulumi.lab.yaml");
    const text = fs.readFileSync(file, "utf8");
    const broken = text.replace(/^ {2}gitlab-ha:postgres:\n(?: {4}.*\n)+/m, "  gitlab-ha:postgres: not-an-object\n");
    assert.notEqual(broken, text);
    fs.writeFileSync(file, broken);
    // The CLI checks the types of Pulumi.yaml before it starts the program (pulumi/pulumi
    // pkg/cmd/pulumi/operations/preview.go: validateStackConfig), so any program will do here.
    const bad = pulumi(["preview", "--stack", "lab", "--non-interactive", "--client=127.0.0.1:1"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /configuration key 'postgres' must be of type 'object'/, bad.out);
  });

  it("sets prod's secrets with `config set --secret`: encrypted in the stack file, accepted by the program", async () => {
    const { dir, pulumi } = workspace(["Pulumi.prod.yaml"], "a passphrase for the test");
    assert.equal(pulumi(["stack", "init", "prod", "--non-interactive"]).code, 0);
    const token = "glrt-" + "t0ken".repeat(4);
    const password = "pw-" + Math.random().toString(36).slice(2);
    for (const [key, value] of [["runnerTokens", JSON.stringify({ "docker-1": { token } })], ["postgresGitlabPassword", password]] as const) {
      const r = pulumi(["config", "set", "--secret", key, "--stack", "prod"], value);
      assert.equal(r.code, 0, r.out);
    }
    const stackFile = fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8");
    assert.ok(!stackFile.includes(token) && !stackFile.includes(password), "a secret is in the stack file in plaintext");
    assert.doesNotMatch(stackFile, /secure: v1:placeholder/, "the placeholder must be replaced");

    // The program sees exactly what the CLI hands it: values after decryption, secret keys marked.
    const shown = pulumi(["config", "--show-secrets", "--json", "--stack", "prod"]);
    assert.equal(shown.code, 0, shown.out);
    const entries = JSON.parse(shown.out) as Record<string, { value: string; secret: boolean }>;
    const config = Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, v.value]));
    const secretKeys = Object.entries(entries).filter(([, v]) => v.secret).map(([k]) => k);
    assert.deepEqual(secretKeys.sort(), ["gitlab-ha:postgresGitlabPassword", "gitlab-ha:runnerTokens"]);
    const e = await evaluateProgram({ project: "gitlab-ha", stack: "prod", config, secretKeys, projectDir: ROOT, preview: true });
    assert.ok(e.resources.length > 20);
    const shownToReviewers = JSON.stringify(e.resources.map((r) => r.display));
    assert.ok(!shownToReviewers.includes(token) && !shownToReviewers.includes(password), "a secret shows in the plan");

    // `pulumi preview --stack prod --diff` of the real program (inline, on the SDK's runtime), with
    // an `ssh` on PATH that records any attempt: the docker provider dials ssh:// hosts with it and
    // the command provider runs it; neither may during a preview.
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    const dialed = path.join(dir, "ssh-calls.log");
    fs.writeFileSync(path.join(bin, "ssh"), `#!/bin/sh\necho "$*" >> ${dialed}\nexit 255\n`, { mode: 0o755 });
    const stack = await engineStack({
      stackName: "prod",
      workDir: dir,
      backendDir: path.join(dir, "state"),
      passphrase: "a passphrase for the test",
      program: projectProgram,
      engine: ENGINE as Exclude<typeof ENGINE, { kind: "none" }>,
    });
    const previousPath = process.env.PATH;
    process.env.PATH = `${bin}${path.delimiter}${previousPath}`;
    let out = "";
    try {
      const t0 = Date.now();
      const r = await stack.preview({ diff: true, onOutput: (o) => (out += o) });
      console.log(`# pulumi preview --diff of prod: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${r.changeSummary.create} creates`);
      assert.ok((r.changeSummary.create ?? 0) > 100, `${JSON.stringify(r.changeSummary)}\n${out.slice(-2000)}`);
      assert.deepEqual(Object.keys(r.changeSummary).sort(), ["create"], "a first preview plans creates only");
    } finally {
      process.env.PATH = previousPath;
    }
    assert.match(out, /\+ command:remote:Command: \(create\)\n\s+\[urn=urn:pulumi:prod::gitlab-ha::[^\]\n]*::postgres-pgsql-objects\]/);
    assert.match(out, /\+ docker:index\/container:Container: \(create\)/);
    assert.ok(!out.includes(token) && !out.includes(password), "a secret shows in the preview");
    assert.equal(fs.existsSync(dialed) ? fs.readFileSync(dialed, "utf8") : "", "", "a host was contacted during preview");
  });
});
