// The engine that .ci/engine/build makes, run for real (no mocks): the Pulumi CLI with upstream's
// docker 5.0.0 and random 4.21.1 provider code (Terraform providers through the Pulumi bridge),
// driven by @pulumi/pulumi/automation with inline programs and a file:// backend in a temp dir.
// The docker provider talks to this machine's dockerd over its unix socket.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { engineCache, engineStack, findEngine, REPO_ROOT } from "../../.ci/engine/workspace";
import { requireTool, tempDirs } from "../helpers";

const engine = findEngine();
const ENGINE = "the Pulumi engine (bash .ci/setup)";
const noEngine = requireTool(ENGINE, engine.kind !== "none", engine.kind === "none" ? engine.reason : "");

const run = (cmd: string, args: string[], input?: string) => spawnSync(cmd, args, { encoding: "utf8", input, timeout: 120_000 });
const dockerOk = run("docker", ["info"]).status === 0;
const BUSYBOX = "/bin/busybox";

/** Every file under dir, read as text (the file backend's state, history and backups). */
function filesUnder(dir: string): { file: string; text: string }[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .map((file) => ({ file, text: fs.readFileSync(file, "latin1") }));
}

describe("the real docker provider (kreuzwerker's code through the bridge) on the local dockerd", {
  skip: noEngine || requireTool("docker with a running dockerd", dockerOk, "docker info failed") || requireTool("busybox-static", fs.existsSync(BUSYBOX), "no /bin/busybox"),
}, () => {
  const dirs = tempDirs("engine-docker-");
  const tag = `gh-engine-${process.pid}`;
  const image = `${tag}:busybox`;
  after(() => {
    const ids = run("docker", ["ps", "-aq", "--filter", `label=gitlab-ha-test=${tag}`]).stdout.split("\n").filter(Boolean);
    if (ids.length) run("docker", ["rm", "-f", ...ids]);
    run("docker", ["network", "rm", `${tag}-net`]);
    run("docker", ["rmi", "-f", image]);
  });

  it("creates a network and a container, refreshes with no changes, replaces on a changed env, destroys them", { timeout: 600_000 }, async () => {
    // A tiny image from the static busybox: no registry is contacted.
    const rootfs = dirs.next();
    fs.mkdirSync(path.join(rootfs, "bin"));
    fs.copyFileSync(BUSYBOX, path.join(rootfs, "bin", "busybox"));
    fs.chmodSync(path.join(rootfs, "bin", "busybox"), 0o755);
    for (const tool of ["sh", "sleep"]) fs.symlinkSync("busybox", path.join(rootfs, "bin", tool));
    const imported = spawnSync("sh", ["-c", `tar -C "$1" -c . | docker import - "$2"`, "sh", rootfs, image], { encoding: "utf8" });
    assert.equal(imported.status, 0, imported.stderr);
    const imageId = imported.stdout.trim();

    let env = "STEP=one";
    const program = async () => {
      const provider = new docker.Provider("local", { host: "unix:///var/run/docker.sock" });
      const network = new docker.Network("net", { name: `${tag}-net`, labels: [{ label: "gitlab-ha-test", value: tag }] }, { provider });
      const container = new docker.Container("box", {
        name: `${tag}-box`,
        image: imageId,
        command: ["sleep", "3600"],
        envs: [env],
        labels: [{ label: "gitlab-ha-test", value: tag }],
        networksAdvanced: [{ name: network.name }],
        destroyGraceSeconds: 1,
      }, { provider });
      return { containerId: container.id, networkId: network.id };
    };
    const stack = await engineStack({ stackName: "docker", projectName: "engine-docker", program, backendDir: dirs.next() });

    const up = await stack.up();
    assert.equal(up.summary.resourceChanges?.create, 4, JSON.stringify(up.summary.resourceChanges)); // stack, provider, network, container
    const first = String(up.outputs.containerId.value);
    const inspect = run("docker", ["inspect", "-f", "{{.State.Running}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}} {{json .Config.Env}}", first]);
    assert.equal(inspect.status, 0, inspect.stderr);
    assert.match(inspect.stdout, new RegExp(`^true ${tag}-net .*"STEP=one"`));
    assert.equal(run("docker", ["network", "inspect", String(up.outputs.networkId.value)]).status, 0);

    // What the provider reads back matches what it wrote.
    await stack.refresh({ expectNoChanges: true });
    await stack.preview({ expectNoChanges: true });

    // The container keeps its fixed name: only delete-before-replace (upstream's DeleteBeforeReplace
    // for docker_container, pulumi-docker provider/resources.go) can replace it without a name clash.
    env = "STEP=two";
    const changed = await stack.up();
    assert.equal(changed.summary.resourceChanges?.replace, 1, JSON.stringify(changed.summary.resourceChanges));
    const second = String(changed.outputs.containerId.value);
    assert.notEqual(second, first, "a changed env replaces the container");
    assert.notEqual(run("docker", ["inspect", first]).status, 0, "the old container is gone");
    assert.match(run("docker", ["inspect", "-f", "{{json .Config.Env}}", second]).stdout, /"STEP=two"/);

    const destroyed = await stack.destroy();
    assert.equal(destroyed.summary.resourceChanges?.delete, 4, JSON.stringify(destroyed.summary.resourceChanges));
    assert.notEqual(run("docker", ["inspect", second]).status, 0, "container removed");
    assert.notEqual(run("docker", ["network", "inspect", `${tag}-net`]).status, 0, "network removed");
  });
});

// How Pulumi marks a secret value in state (sdk/go/common/resource/sig: Secret).
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
const passwordOutputs = (deployment: { resources?: { type: string; outputs?: Record<string, unknown> }[] }) => {
  const r = deployment.resources?.find((x) => x.type === "random:index/randomPassword:RandomPassword");
  assert.ok(r?.outputs, "RandomPassword in state");
  return r.outputs;
};

describe("the real random provider (terraform-provider-random through the bridge)", { skip: noEngine }, () => {
  const dirs = tempDirs("engine-random-");

  it("creates a RandomPassword whose result is a secret: ciphertext only in the exported state and the backend's files", { timeout: 300_000 }, async () => {
    const backendDir = dirs.next();
    const program = async () => {
      const pw = new random.RandomPassword("pw", { length: 32, special: false });
      return { result: pw.result };
    };
    const stack = await engineStack({ stackName: "random", projectName: "engine-random", program, backendDir, passphrase: "engine test passphrase" });
    const up = await stack.up();
    assert.equal(up.outputs.result.secret, true);
    const plaintext = String(up.outputs.result.value);
    assert.match(plaintext, /^[A-Za-z0-9]{32}$/);

    // The Automation API's exportStack decrypts (@pulumi/pulumi automation/localWorkspace.ts
    // `exportStack`: `stack export --show-secrets`): it shows the value still marked secret.
    const exported = await stack.exportStack();
    const result = passwordOutputs(exported.deployment).result as Record<string, unknown>;
    assert.equal(result[SECRET_SIG], SECRET_VALUE, "result is marked secret in state");
    assert.equal(result.plaintext, JSON.stringify(plaintext));

    // The state as stored: the checkpoint in the file backend holds only the ciphertext.
    const checkpoint = filesUnder(backendDir).find((f) => f.file.endsWith(path.join("stacks", "engine-random", "random.json")));
    assert.ok(checkpoint, `no checkpoint in ${backendDir}`);
    const stored = passwordOutputs(JSON.parse(checkpoint.text).checkpoint.latest).result as Record<string, unknown>;
    assert.equal(stored[SECRET_SIG], SECRET_VALUE);
    assert.equal(typeof stored.ciphertext, "string", JSON.stringify(stored));
    assert.equal(stored.plaintext, undefined);
    for (const { file, text } of filesUnder(backendDir)) assert.ok(!text.includes(plaintext), `plaintext in ${file}`);

    await stack.refresh({ expectNoChanges: true });
    assert.equal((await stack.destroy()).summary.resourceChanges?.delete, 2);
  });
});

describe("the engine build reuses its cache", { skip: noEngine }, () => {
  it("a second run builds and installs nothing: each binary cached, each plugin already installed", { timeout: 120_000 }, () => {
    const started = Date.now();
    const r = spawnSync("bash", [path.join(REPO_ROOT, ".ci/engine/build")], { encoding: "utf8", env: { ...process.env, CI: "true" } });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(r.status, 0, r.stderr);
    for (const bin of ["pulumi v3.248.0", "pulumi-resource-docker v5.0.0", "pulumi-resource-random v4.21.1"]) assert.match(r.stderr, new RegExp(`engine: ${bin} cached`));
    for (const plugin of ["resource docker 5.0.0", "resource random 4.21.1", "resource command 1.2.1", "analyzer policy-nodejs 3.248.0"]) {
      assert.match(r.stderr, new RegExp(`engine: plugin ${plugin} already installed`));
    }
    assert.doesNotMatch(r.stderr, /building|installed plugin|missing/);
    assert.equal(r.stdout.trim().split("\n").pop(), path.join(engineCache(), "bin"));
    assert.ok(seconds < 60, `took ${seconds} s`);
  });
});
