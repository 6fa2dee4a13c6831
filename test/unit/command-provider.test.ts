// The project's command provider (.ci/engine/command) on the real engine: @pulumi/command 1.2.1
// resources in inline programs through @pulumi/pulumi/automation, a file:// backend in a temp dir.
// Each test names the upstream pulumi-command v1.2.1 file it follows (provider/pkg/provider/...)
// and the rules of /work/shared/COMMAND-PROVIDER.md it checks.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { engineCache, engineStack, projectPulumiHome, readEngineStatus } from "../../.ci/engine/workspace";
import { requireTool, tempDirs } from "../helpers";

/** The built CLI and the checkout's PULUMI_HOME with the command plugin (docker/random not needed here). */
function commandEngine() {
  const cache = engineCache();
  const cli = readEngineStatus(cache)?.find((p) => p.name === "pulumi");
  const home = projectPulumiHome();
  if (!cli?.ok || !fs.existsSync(path.join(home, "plugins", "resource-command-v1.2.1"))) return undefined;
  return { kind: "built" as const, cliRoot: cache, pulumi: path.join(cache, "bin", "pulumi"), pulumiHome: home, providers: "command 1.2.1 (.ci/engine/command)" };
}
const engine = commandEngine();
const skip = requireTool("pulumi engine with the command plugin", engine !== undefined, "needs .ci/engine/build (CLI, command plugin in .lab/pulumi-home)");
const tmp = tempDirs("command-provider-");

async function stackOf(program: () => Promise<Record<string, unknown> | void>): Promise<{ stack: Stack; backend: string }> {
  const backend = tmp.next();
  const stack = await engineStack({ stackName: "t", projectName: "cmdtest", program: program as any, backendDir: backend, engine: engine! });
  return { stack, backend };
}
/** Every file the file backend wrote, as one string (for "never in plaintext" checks). */
function backendText(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(fs.readFileSync(p, "latin1"));
    }
  };
  walk(dir);
  return out.join("\n");
}
/** What the provider decides about a resource: its ID, inputs and outputs (the engine rewrites the rest on refresh). */
const providerView = (rs: any[]) => JSON.stringify(rs.map((r) => ({ id: r.id, inputs: r.inputs, outputs: r.outputs })));
const resourcesOf = async (stack: Stack, type: string) =>
  ((await stack.exportStack()).deployment.resources as any[]).filter((r) => r.type === type);
const statusLines = (events: EngineEvent[], urnEnd: string) =>
  events.filter((e) => e.diagnosticEvent?.ephemeral && e.diagnosticEvent.urn?.endsWith(urnEnd)).map((e) => e.diagnosticEvent!.message.trim());
const readLog = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n") : []);

describe("command provider: local (provider/pkg/provider/local)", { skip, timeout: 300_000 }, () => {
  it("creates, updates on a changed create without a delete, replaces create-before-delete on a changed trigger, refreshes unchanged, runs the old delete on destroy (commandController.go Create/Update/Delete; R13 R15-R17 R34 R36 R37)", async () => {
    const dir = tmp.next();
    const log = path.join(dir, "log");
    let args = { create: "echo created-1 >> log; echo out-1", trigger: 1, foo: "a" };
    const { stack } = await stackOf(async () => {
      const c = new command.local.Command("step", {
        create: args.create,
        delete: 'echo "deleted:$PULUMI_COMMAND_STDOUT:$FOO" >> log',
        dir,
        environment: { FOO: args.foo },
        triggers: [args.trigger],
      });
      return { stdout: c.stdout, id: c.id };
    });
    const up1 = await stack.up();
    assert.equal(up1.outputs.stdout!.value, "out-1");
    assert.match(up1.outputs.id!.value, /^step[0-9a-f]{8}$/);
    assert.deepEqual(readLog(log), ["created-1"]);

    args = { ...args, create: "echo updated-2 >> log; echo out-2" };
    const up2 = await stack.up();
    assert.equal(up2.summary.resourceChanges?.update, 1);
    assert.equal(up2.outputs.stdout!.value, "out-2");
    assert.equal(up2.outputs.id!.value, up1.outputs.id!.value, "an update keeps the ID");
    assert.deepEqual(readLog(log), ["created-1", "updated-2"], "no delete on an update");

    args = { ...args, create: "echo created-3 >> log; echo out-3", trigger: 2, foo: "b" };
    const up3 = await stack.up();
    assert.equal(up3.summary.resourceChanges?.replace, 1);
    assert.notEqual(up3.outputs.id!.value, up1.outputs.id!.value);
    assert.deepEqual(readLog(log), ["created-1", "updated-2", "created-3", "deleted:out-2:a"], "new create first, then the old delete with the old env and stdout");

    const before = providerView(await resourcesOf(stack, "command:local:Command"));
    const ref = await stack.refresh();
    assert.deepEqual(ref.summary.resourceChanges, { same: 2 });
    assert.equal(providerView(await resourcesOf(stack, "command:local:Command")), before, "refresh leaves ID, inputs and outputs byte-identical");
    assert.equal(readLog(log).length, 4, "refresh runs nothing");

    await stack.destroy();
    assert.deepEqual(readLog(log).slice(-1), ["deleted:out-3:b"]);
  });

  it("gives stdin to the command and keeps secret inputs out of state and backend files, stdout plain (commandOutputs.go run; R22 R35)", async () => {
    const dir = tmp.next();
    const { stack, backend } = await stackOf(async () => {
      const c = new command.local.Command("secretive", {
        create: 'cat > got; printf %s "$TOKEN" > token; echo ok',
        dir,
        stdin: pulumi.secret("stdin-s3cr3t-value"),
        environment: { TOKEN: pulumi.secret("env-s3cr3t-value") },
      });
      return { stdout: c.stdout };
    });
    const up = await stack.up();
    assert.equal(fs.readFileSync(path.join(dir, "got"), "utf8"), "stdin-s3cr3t-value");
    assert.equal(fs.readFileSync(path.join(dir, "token"), "utf8"), "env-s3cr3t-value");
    assert.equal(up.outputs.stdout!.value, "ok");
    assert.equal(up.outputs.stdout!.secret, false, "stdout is not made secret");
    const [r] = await resourcesOf(stack, "command:local:Command");
    // exportStack shows secrets decrypted but still marked: the marker is what the state keeps.
    const SECRET = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };
    assert.deepEqual({ ...r.outputs.stdin, plaintext: undefined }, { ...SECRET, plaintext: undefined }, "stdin echoed as a secret");
    assert.deepEqual({ ...r.outputs.environment.TOKEN, plaintext: undefined }, { ...SECRET, plaintext: undefined }, "a secret environment value stays secret at its path");
    assert.equal(typeof r.outputs.stdout, "string");
    const all = backendText(backend);
    assert.doesNotMatch(all, /s3cr3t/, "no secret in plaintext anywhere in the backend");
    await stack.destroy();
  });

  it("fails with upstream's error text, output included even with logging none, secrets redacted; no state (commandOutputs.go run; R18 R19)", async () => {
    const { stack } = await stackOf(async () => {
      new command.local.Command("fails", {
        create: "echo out; echo \"$TOKEN\" >&2; exit 3",
        environment: { TOKEN: pulumi.secret("leaky-s3cr3t") },
        logging: "none",
      });
    });
    const err = await stack.up().then(() => undefined, (e: Error) => e);
    assert.ok(err, "the up fails");
    assert.match(err!.message, /exit status 3: running "echo out; echo \\"\$TOKEN\\" >&2; exit 3":\n\s*out\n\s*\[secret\]/);
    assert.doesNotMatch(err!.message, /leaky-s3cr3t/);
    assert.equal((await resourcesOf(stack, "command:local:Command")).length, 0, "a failed create leaves no state");
  });

  it("logs each mode's stream line by line as ephemeral status messages (logging.go ShouldLogStdout/ShouldLogStderr, util.go LogOutput; R21)", async () => {
    const modes = ["stdout", "stderr", "stdoutAndStderr", "none"] as const;
    const { stack } = await stackOf(async () => {
      for (const m of modes) new command.local.Command(`log-${m}`, { create: `echo o1-${m}; echo e1-${m} >&2; echo o2-${m}`, logging: m });
      new command.local.Command("log-default", { create: "echo o-default; echo e-default >&2" });
    });
    const events: EngineEvent[] = [];
    await stack.up({ onEvent: (e) => events.push(e) });
    const want: Record<string, string[]> = {
      stdout: ["o1-stdout", "o2-stdout"],
      stderr: ["e1-stderr"],
      stdoutAndStderr: ["e1-stdoutAndStderr", "o1-stdoutAndStderr", "o2-stdoutAndStderr"],
      none: [],
    };
    for (const m of modes) assert.deepEqual(statusLines(events, `::log-${m}`).filter((l) => l.includes(m)).sort(), want[m], m);
    assert.deepEqual(statusLines(events, "::log-default").filter((l) => l.includes("default")).sort(), ["e-default", "o-default"]);
    await stack.destroy();
  });
});

// A throw-away sshd on loopback (OpenSSH server run as root), with a temp host key and authorized_keys.
const sshd = fs.existsSync("/usr/sbin/sshd") && process.getuid?.() === 0;
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

/** A throw-away sshd on a free loopback port with its own config (the given lines after the common ones); -E: its log file. */
async function startSshd(d: string, name: string, lines: string[]): Promise<{ server: ChildProcess; port: number; log: string }> {
  const port = await freePort();
  const cfg = path.join(d, `${name}_config`);
  const log = path.join(d, `${name}.log`);
  fs.writeFileSync(cfg, [`HostKey ${path.join(d, "host")}`, "ListenAddress 127.0.0.1", "StrictModes no", `PidFile ${path.join(d, `${name}.pid`)}`, ...lines].join("\n") + "\n");
  fs.mkdirSync("/run/sshd", { recursive: true });
  const server = spawn("/usr/sbin/sshd", ["-D", "-E", log, "-f", cfg, "-p", String(port)], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    if (spawnSync("ssh-keyscan", ["-p", String(port), "127.0.0.1"]).status === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { server, port, log };
}

describe("command provider: remote over OpenSSH (provider/pkg/provider/remote)", { skip: skip || requireTool("sshd", sshd, "needs openssh-server and root"), timeout: 300_000 }, () => {
  let server: ChildProcess;
  let port = 0;
  let serverLog = "";
  let hostKey = "";
  let clientKey = "";
  let otherHostKey = "";
  let keyDir = "";
  before(async () => {
    const d = (keyDir = tmp.next());
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(d, "host")]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(d, "other")]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(d, "client")]);
    hostKey = fs.readFileSync(path.join(d, "host.pub"), "utf8").trim();
    otherHostKey = fs.readFileSync(path.join(d, "other.pub"), "utf8").trim();
    clientKey = fs.readFileSync(path.join(d, "client"), "utf8");
    fs.copyFileSync(path.join(d, "client.pub"), path.join(d, "authorized_keys"));
    // LogLevel DEBUG1: the log names each direct-tcpip forward, the proof that a proxied dial went through it.
    ({ server, port, log: serverLog } = await startSshd(d, "sshd", [
      `AuthorizedKeysFile ${path.join(d, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "AcceptEnv *",
      "LogLevel DEBUG1",
    ]));
  });
  after(() => server?.kill());

  it("runs a command over real SSH with a matching hostKey: stdin, environment, delete with the old state (commandOutputs.go run, connection.go SSHConfig; R17 R22 R27 R28 R31)", async () => {
    const dir = tmp.next();
    const log = path.join(dir, "log");
    const { stack, backend } = await stackOf(async () => {
      const c = new command.remote.Command("remote", {
        connection: { host: "127.0.0.1", port, user: "root", privateKey: pulumi.secret(clientKey), hostKey },
        create: `read line; echo "got:$line:$FOO"`,
        delete: `echo "deleted:$PULUMI_COMMAND_STDOUT:$FOO" >> ${log}`,
        stdin: "hello\n",
        environment: { FOO: "bar baz" },
      });
      return { stdout: c.stdout };
    });
    const up = await stack.up();
    assert.equal(up.outputs.stdout!.value, "got:hello:bar baz");
    const [r] = await resourcesOf(stack, "command:remote:Command");
    assert.equal(r.outputs.connection["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270", "connection is secret in state");
    assert.doesNotMatch(backendText(backend), /PRIVATE KEY/);
    const ref = await stack.refresh();
    assert.deepEqual(ref.summary.resourceChanges, { same: 2 });
    await stack.destroy();
    assert.deepEqual(readLog(log), ["deleted:got:hello:bar baz:bar baz"]);
  });

  it("refuses a wrong hostKey with upstream's host key mismatch (connection.go SSHConfig FixedHostKey; R31)", async () => {
    const { stack } = await stackOf(async () => {
      new command.remote.Command("wrongkey", {
        connection: { host: "127.0.0.1", port, privateKey: clientKey, hostKey: otherHostKey, dialErrorLimit: 0 },
        create: "echo never",
      });
    });
    const err = await stack.up().then(() => undefined, (e: Error) => e);
    assert.match(String(err?.message), /after 0 failed attempts: ssh: handshake failed: ssh: host key mismatch/);
    const bad = await stackOf(async () => {
      new command.remote.Command("garbage", { connection: { host: "127.0.0.1", port, privateKey: clientKey, hostKey: "not a key" }, create: "true" });
    });
    const err2 = await bad.stack.up().then(() => undefined, (e: Error) => e);
    assert.match(String(err2?.message), /failed to parse host key/);
  });

  it("retries dialErrorLimit times against a closed port with a status per failure (connection.go dialWithRetry; R32 R40)", async () => {
    const closed = await freePort();
    const { stack } = await stackOf(async () => {
      new command.remote.Command("closed", { connection: { host: "127.0.0.1", port: closed, privateKey: clientKey, dialErrorLimit: 2, perDialTimeout: 2 }, create: "true" });
    });
    const events: EngineEvent[] = [];
    const err = await stack.up({ onEvent: (e) => events.push(e) }).then(() => undefined, (e: Error) => e);
    assert.match(String(err?.message), /after 2 failed attempts: ssh: connect to host 127\.0\.0\.1 port \d+: Connection refused/);
    assert.deepEqual(statusLines(events, "::closed"), ["Dial 1/2 failed: retrying", "Dial 2/2 failed: retrying"]);
  });
  // R30 (password, keyboard-interactive) and R33 (proxy): a throw-away system user with a password,
  // one sshd that takes only "password" (UsePAM no: the shadow file) and one that takes only
  // "keyboard-interactive" (PAM), both on loopback; the key-only sshd above is the proxy.
  const pwTools = ["useradd", "chpasswd", "userdel"].every((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status === 0);
  describe("password, keyboard-interactive and proxy (connection.go SSHConfig, Dial)", { skip: requireTool("useradd/chpasswd/userdel", pwTools, "needs the passwd package (root)") }, () => {
    const user = `gitlabha-pw-${process.pid}`;
    // Quotes, a space, $ and a backslash: the askpass file must hand it over byte for byte.
    const password = `pw s3cr3t 'q"$HOME\\x-${process.pid}`;
    let pwSshd: { server: ChildProcess; port: number; log: string };
    let kbdSshd: { server: ChildProcess; port: number; log: string };
    before(async () => {
      execFileSync("useradd", ["-M", "-d", "/tmp", "-s", "/bin/bash", user]);
      execFileSync("chpasswd", [], { input: `${user}:${password}\n` }); // on stdin: never on a command line
      pwSshd = await startSshd(keyDir, "pw", ["PasswordAuthentication yes", "KbdInteractiveAuthentication no", "UsePAM no", "PubkeyAuthentication no"]);
      kbdSshd = await startSshd(keyDir, "kbd", ["PasswordAuthentication no", "KbdInteractiveAuthentication yes", "UsePAM yes", "PubkeyAuthentication no"]);
    });
    after(() => {
      pwSshd?.server.kill();
      kbdSshd?.server.kill();
      spawnSync("userdel", ["-f", user]);
    });
    const target = `test "$(id -un)" = ${user} && echo "ran:$(id -un):\${SSH_CONNECTION##* }"`;

    it("logs in with connection.password by password and by keyboard-interactive; the password stays out of state (connection.go SSHConfig ssh.Password, ssh.KeyboardInteractive; R30 R35)", async () => {
      const { stack, backend } = await stackOf(async () => {
        const a = new command.remote.Command("pw", { connection: { host: "127.0.0.1", port: pwSshd.port, user, password: pulumi.secret(password), hostKey, dialErrorLimit: 0 }, create: target });
        const b = new command.remote.Command("kbd", { connection: { host: "127.0.0.1", port: kbdSshd.port, user, password, dialErrorLimit: 0 }, create: target });
        return { pw: a.stdout, kbd: b.stdout };
      });
      const up = await stack.up();
      assert.equal(up.outputs.pw!.value, `ran:${user}:${pwSshd.port}`);
      assert.equal(up.outputs.kbd!.value, `ran:${user}:${kbdSshd.port}`);
      assert.match(fs.readFileSync(pwSshd.log, "utf8"), new RegExp(`Accepted password for ${user}`));
      assert.match(fs.readFileSync(kbdSshd.log, "utf8"), new RegExp(`Accepted keyboard-interactive/pam for ${user}`));
      assert.ok(!backendText(backend).includes("s3cr3t"), "the password (a plain input, made secret by connection) is nowhere in the backend in plaintext");
      await stack.destroy();
    });

    it("fails a wrong password after the dial retries without the password in the error or the state (connection.go dialWithRetry; R30 R32)", async () => {
      const wrong = `wrong s3cr3t ${process.pid}`;
      const { stack, backend } = await stackOf(async () => {
        new command.remote.Command("badpw", { connection: { host: "127.0.0.1", port: pwSshd.port, user, password: wrong, dialErrorLimit: 1 }, create: "echo never" });
      });
      const events: EngineEvent[] = [];
      const err = await stack.up({ onEvent: (e) => events.push(e) }).then(() => undefined, (e: Error) => e);
      assert.match(String(err?.message), new RegExp(`after 1 failed attempts: ${user}@127\\.0\\.0\\.1: Permission denied \\(password\\)`));
      assert.deepEqual(statusLines(events, "::badpw"), ["Dial 1/1 failed: retrying"]);
      assert.ok(!String(err?.message).includes("s3cr3t"), "no password in the error text");
      assert.ok(!events.some((e) => JSON.stringify(e).includes("s3cr3t")), "no password in any engine event");
      assert.ok(!backendText(backend).includes("s3cr3t"), "no password in the backend");
      assert.equal((await resourcesOf(stack, "command:remote:Command")).length, 0);
    });

    it("runs the command on the target through the proxy, the proxy with its own key and hostKey (connection.go Dial with Proxy; R33)", async () => {
      const { stack, backend } = await stackOf(async () => {
        const c = new command.remote.Command("proxied", {
          connection: {
            host: "127.0.0.1", port: pwSshd.port, user, password: pulumi.secret(password), dialErrorLimit: 0,
            proxy: { host: "127.0.0.1", port, user: "root", privateKey: pulumi.secret(clientKey), hostKey, dialErrorLimit: 0 },
          },
          create: target,
        });
        return { stdout: c.stdout };
      });
      const up = await stack.up();
      assert.equal(up.outputs.stdout!.value, `ran:${user}:${pwSshd.port}`, "ran on the target, as the target's user");
      // The proxy sshd (key only, root) opened the forward to the target: the connection went through it.
      assert.match(fs.readFileSync(serverLog, "utf8"), new RegExp(`target 127\\.0\\.0\\.1 port ${pwSshd.port}\\b`));
      const all = backendText(backend);
      assert.ok(!all.includes("s3cr3t") && !all.includes("PRIVATE KEY"), "no password or key in the backend");
      await stack.destroy();
    });

    it("prefixes every failure of a proxied dial with \"proxy: \": a closed proxy port, a closed target port behind the proxy (connection.go Dial; R32 R33)", async () => {
      const closed = await freePort();
      const { stack } = await stackOf(async () => {
        new command.remote.Command("deadproxy", {
          connection: { host: "127.0.0.1", port: pwSshd.port, user, password, dialErrorLimit: 0, proxy: { host: "127.0.0.1", port: closed, privateKey: clientKey, dialErrorLimit: 1, perDialTimeout: 2 } },
          create: "true",
        });
      });
      const events: EngineEvent[] = [];
      const err = await stack.up({ onEvent: (e) => events.push(e) }).then(() => undefined, (e: Error) => e);
      assert.match(String(err?.message), new RegExp(`proxy: after 1 failed attempts: ssh: connect to host 127\\.0\\.0\\.1 port ${closed}: Connection refused`));
      assert.deepEqual(statusLines(events, "::deadproxy"), ["Dial proxy 1/1 failed: retrying"]);

      const behind = await stackOf(async () => {
        new command.remote.Command("deadtarget", {
          connection: { host: "127.0.0.1", port: closed, user, password, dialErrorLimit: 0, proxy: { host: "127.0.0.1", port, privateKey: clientKey, dialErrorLimit: 0 } },
          create: "true",
        });
      });
      const err2 = await behind.stack.up().then(() => undefined, (e: Error) => e);
      // OpenSSH's words for a refused forward, not x/crypto's "ssh: rejected: connect failed (...)" (README deviation).
      assert.match(String(err2?.message), /proxy: after 0 failed attempts: Stdio forwarding request failed/);
      assert.ok(!String(err2?.message).includes("s3cr3t"));
    });
  });
});
