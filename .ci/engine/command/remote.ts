// command:remote:Command's run (R27-R33) over the system OpenSSH client: there is no Go SSH library
// here and no npm SSH package, so each step that upstream does with golang.org/x/crypto/ssh is an
// `ssh` process. One master connection per operation (ControlMaster, our own child, killed at the
// end) is the "Dial" (P/remote/connection.go Dial, dialWithRetry); the command then runs as one
// exec request through it (P/remote/commandOutputs.go run: session.Run), so a dial failure is never
// mistaken for the command's own exit status. Secrets go to 0600 files in a 0700 temp dir, never
// onto a command line; environment values go through the ssh process's own environment (SendEnv).
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Capture, Logger } from "./capture";

export interface Connection {
  host: string;
  port?: number;
  user?: string;
  password?: string;
  privateKey?: string;
  privateKeyPassword?: string;
  agentSocketPath?: string;
  dialErrorLimit?: number;
  perDialTimeout?: number;
  hostKey?: string;
  proxy?: Connection;
}

export interface RemoteInputs {
  connection: Connection;
  environment?: Record<string, string>;
  stdin?: string;
  addPreviousOutputInEnv?: boolean;
  logging?: unknown;
}

export interface Cancel {
  readonly cancelled: boolean;
}

const SSH = "ssh";
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** P/remote/connection.go SSHConfig L86-98 (ssh.ParseAuthorizedKey): the key type and its base64 blob. */
function parseHostKey(line: string): { type: string; blob: string } {
  const fields = line.trim().split(/\s+/);
  for (let i = 0; i + 1 < fields.length; i++) {
    const [type, blob] = [fields[i]!, fields[i + 1]!];
    if (!/^[a-z0-9@.-]+$/.test(type) || !/^[A-Za-z0-9+/]+=*$/.test(blob)) continue;
    const raw = Buffer.from(blob, "base64");
    const n = raw.length >= 4 ? raw.readUInt32BE(0) : -1;
    if (n > 0 && raw.subarray(4, 4 + n).toString("latin1") === type) return { type, blob };
  }
  throw new Error("failed to parse host key: ssh: no key found");
}

// Go's publicKey.Type() "ssh-rsa" offers the rsa-sha2 signatures too (XC ssh/client.go L83-86).
const hostKeyAlgorithms = (type: string) => (type === "ssh-rsa" ? "rsa-sha2-512,rsa-sha2-256,ssh-rsa" : type);

/** `ssh` options and environment for one connection (P/remote/connection.go SSHConfig). */
function prepare(c: Connection, dir: string, tag: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const f = (name: string) => path.join(dir, `${tag}.${name}`);
  const args = [
    "-F", "none", // no user or system ssh_config: the connection is only what the inputs say
    "-o", "LogLevel=ERROR",
    "-o", "CheckHostIP=no",
    "-o", "UpdateHostKeys=no",
    "-p", String(Math.trunc(c.port ?? 22)),
    "-l", c.user ?? "root",
    "-o", "PreferredAuthentications=publickey,password,keyboard-interactive", // SSHConfig's order (R30)
  ];
  // perDialTimeout: seconds for the TCP connect, 0 = none (P/remote/connection.go SSHConfig Timeout).
  const t = c.perDialTimeout ?? 15;
  if (t > 0) args.push("-o", `ConnectTimeout=${t}`);
  if (c.hostKey !== undefined) {
    // A fixed host key, and only its algorithm offered (SSHConfig: ssh.FixedHostKey, HostKeyAlgorithms).
    const k = parseHostKey(c.hostKey);
    fs.writeFileSync(f("known"), `${tag} ${k.type} ${k.blob}\n`, { mode: 0o600 });
    args.push("-o", `UserKnownHostsFile=${f("known")}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", `HostKeyAlias=${tag}`, "-o", "StrictHostKeyChecking=yes", "-o", `HostKeyAlgorithms=${hostKeyAlgorithms(k.type)}`);
  } else {
    // No hostKey: any key is accepted and known_hosts is not read (SSHConfig: ssh.InsecureIgnoreHostKey).
    args.push("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null");
  }
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir }; // HOME: no default ~/.ssh/id_* keys
  if (c.privateKey !== undefined) {
    fs.writeFileSync(f("key"), c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`, { mode: 0o600 });
    if (c.privateKeyPassword === undefined) {
      // An encrypted key without its password fails at once, not retried (XC ssh/keys.go ParsePrivateKey).
      const r = spawnSync("ssh-keygen", ["-y", "-P", "", "-f", f("key")], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(/passphrase/i.test(r.stderr) ? "ssh: this private key is passphrase protected" : "ssh: no key found");
    }
    args.push("-o", `IdentityFile=${f("key")}`);
  }
  if (c.password !== undefined || c.privateKeyPassword !== undefined) {
    // Password, keyboard-interactive answers and the key's passphrase come from 0600 files through
    // SSH_ASKPASS (P/remote/connection.go SSHConfig: ssh.Password, ssh.KeyboardInteractive).
    if (c.password !== undefined) fs.writeFileSync(f("pw"), c.password, { mode: 0o600 });
    if (c.privateKeyPassword !== undefined) fs.writeFileSync(f("kpw"), c.privateKeyPassword, { mode: 0o600 });
    const pw = c.password !== undefined ? `cat ${sq(f("pw"))}` : "exit 1";
    const kpw = c.privateKeyPassword !== undefined ? `cat ${sq(f("kpw"))}` : "exit 1";
    fs.writeFileSync(f("askpass"), `#!/bin/sh\ncase "$1" in *assphrase*) ${kpw} ;; *) ${pw} ;; esac\n`, { mode: 0o700 });
    Object.assign(env, { SSH_ASKPASS: f("askpass"), SSH_ASKPASS_REQUIRE: "force", DISPLAY: "none" });
    args.push("-o", "BatchMode=no", "-o", "NumberOfPasswordPrompts=1");
  } else {
    args.push("-o", "BatchMode=yes");
  }
  // The agent at agentSocketPath, else $SSH_AUTH_SOCK (P/remote/connection_unix.go); unreachable = error, no retry.
  const agent = c.agentSocketPath ?? process.env.SSH_AUTH_SOCK;
  if (agent) {
    if (!fs.existsSync(agent)) throw new Error(`dial unix ${agent}: connect: no such file or directory`);
    args.push("-o", `IdentityAgent=${agent}`);
  } else {
    args.push("-o", "IdentityAgent=none");
  }
  return { args, env };
}

/** The text upstream's x/crypto would give for what ssh printed, where they differ in a way users match on. */
function dialError(stderr: string, code: number | null): string {
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) return "ssh: handshake failed: ssh: host key mismatch";
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("@") && !l.startsWith("Warning:"));
  return lines.length ? lines.join("; ") : `ssh exited with status ${code}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * dialWithRetry (P/remote/connection.go L150-187): dialErrorLimit+1 attempts (-1: unlimited), a
 * status line per retried failure, a 100 ms x 1.5^n wait capped at 5 s (pulumi sdk/go/common/util/retry
 * until.go), and "after <limit> failed attempts: <last error>".
 */
async function withRetry<T>(label: string, limit: number, log: Logger, cancel: Cancel, attempt: () => Promise<T>): Promise<T> {
  for (let dials = 1, delay = 100; ; dials++, delay = Math.min(delay * 1.5, 5000)) {
    if (cancel.cancelled) throw new Error("context canceled");
    try {
      return await attempt();
    } catch (e) {
      const err = e as Error & { fatal?: boolean };
      if (err.fatal) throw err;
      if (limit > -1 && dials > limit) throw new Error(`after ${dials - 1} failed attempts: ${err.message}`);
      log.status(`${label} ${dials}/${limit === -1 ? "inf" : limit} failed: retrying`);
      await sleep(delay);
    }
  }
}

interface Master {
  socket: string;
  kill(): void;
}

/** One ssh master connection: resolves once authenticated (its control socket appears), rejects when ssh gives up. */
function openMaster(c: Connection, dir: string, tag: string, attempt: number, extra: string[], prep: { args: string[]; env: NodeJS.ProcessEnv }): Promise<Master> {
  const socket = path.join(dir, `${tag}-${attempt}.sock`);
  const child = spawn(SSH, [...prep.args, ...extra, "-o", "ControlMaster=yes", "-o", `ControlPath=${socket}`, "-o", "ControlPersist=no", "-N", "-T", "--", c.host], {
    env: prep.env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (fs.existsSync(socket)) {
        clearInterval(poll);
        resolve({ socket, kill: () => child.kill("SIGTERM") });
      }
    }, 20);
    child.on("exit", (code) => {
      clearInterval(poll);
      reject(new Error(dialError(stderr, code)));
    });
    child.on("error", (e) => {
      clearInterval(poll);
      reject(Object.assign(e, { fatal: true }));
    });
  });
}

export async function runRemote(
  command: string,
  inp: RemoteInputs,
  previous: { stdout: string; stderr: string },
  log: Logger,
  secrets: readonly string[],
  cancel: Cancel,
): Promise<{ stdout: string; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "command-ssh-"));
  const masters: Master[] = [];
  const c = inp.connection;
  try {
    // Dial (P/remote/connection.go Dial): through the proxy when one is set, every error prefixed "proxy: " (R33).
    const target = prepare(c, dir, "target");
    let extra: string[] = [];
    let prefix = "";
    if (c.proxy) {
      prefix = "proxy: ";
      const p = c.proxy;
      let proxyPrep: ReturnType<typeof prepare>;
      try {
        proxyPrep = prepare(p, dir, "proxy");
      } catch (e) {
        throw new Error(`proxy: ${(e as Error).message}`);
      }
      let n = 0;
      const pm = await withRetry("Dial proxy", p.dialErrorLimit ?? 10, log, cancel, () => openMaster(p, dir, "proxy", n++, [], proxyPrep)).catch((e: Error) => {
        throw new Error(`proxy: ${e.message}`);
      });
      masters.push(pm);
      // The target's TCP stream is a stdio forward through the proxy's connection (x/crypto client.Dial "tcp" on the proxy).
      const hop = [SSH, "-F", "none", "-o", "LogLevel=ERROR", "-o", "ControlMaster=no", "-o", `ControlPath=${pm.socket}`, "-W", "%h:%p", "--", sq(p.host)].join(" ");
      extra = ["-o", `ProxyCommand=${hop}`];
    }
    // The session: environment (R28), then PULUMI_COMMAND_* (R29), stdin (R22), one exec request without a PTY (R27).
    const env: NodeJS.ProcessEnv = { ...target.env };
    const names: string[] = [];
    for (const [k, v] of Object.entries(inp.environment ?? {})) (env[k] = v), names.push(k);
    if (inp.addPreviousOutputInEnv !== false) {
      if (previous.stdout !== "") (env.PULUMI_COMMAND_STDOUT = previous.stdout), names.push("PULUMI_COMMAND_STDOUT");
      if (previous.stderr !== "") (env.PULUMI_COMMAND_STDERR = previous.stderr), names.push("PULUMI_COMMAND_STDERR");
    }
    // The master's own SendEnv decides which variables an exec through it may pass (OpenSSH clientloop.c client_session2_setup).
    const sendEnv = names.flatMap((k) => ["-o", `SendEnv=${k}`]);
    let n = 0;
    const master = await withRetry("Dial", c.dialErrorLimit ?? 10, log, cancel, () => openMaster(c, dir, "target", n++, [...extra, ...sendEnv], target)).catch((e: Error) => {
      throw new Error(`${prefix}${e.message}`);
    });
    masters.push(master);

    const cap = new Capture(log, inp.logging, secrets);
    return await new Promise((resolve, reject) => {
      const child = spawn(SSH, [...target.args, ...extra, ...sendEnv, "-o", "ControlMaster=no", "-o", `ControlPath=${master.socket}`, "-T", "--", c.host, command], {
        env,
        stdio: ["pipe", "pipe", "pipe"],
      });
      cap.attach(child.stdout!, child.stderr!);
      child.stdin!.on("error", () => undefined);
      child.stdin!.end(typeof inp.stdin === "string" && inp.stdin.length > 0 ? inp.stdin : undefined);
      child.on("error", (e) => reject(e));
      child.on("close", (code, signal) => {
        cap.finish();
        if (code === 0) return resolve({ stdout: cap.stdout, stderr: cap.stderr });
        // x/crypto ssh.ExitError text (XC ssh/session.go Waitmsg.String): "Process exited with status N".
        const cause = code === null ? `wait: remote command exited without exit status or exit signal${signal ? "" : ""}` : `Process exited with status ${code}`;
        reject(cap.failure(cause, command));
      });
    });
  } finally {
    for (const m of masters.reverse()) m.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
