// Throw-away PostgreSQL clusters for the switchover tests: real PostgreSQL 15 binaries, data in a
// temporary directory, TCP on 127.0.0.1 only, sockets in /var/run/postgresql on private ports.
// Host steps run as the program renders them, with a stand-in `systemctl` on PATH that maps a
// service name to pg_ctl on its cluster (and plain units to state files).
import { ChildProcessWithoutNullStreams, execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { renderScript, ShellValue } from "../components/host/script";

export const BIN = "/usr/lib/postgresql/15/bin";
export const HAVE_PG = fs.existsSync(`${BIN}/postgres`) && process.getuid?.() === 0;
export const REPL_PASSWORD = "repl-Secret-4711";

export interface StepResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class Bed {
  readonly root: string;
  readonly bin: string;
  readonly units: string;
  constructor() {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-ha-sw-"));
    fs.chmodSync(this.root, 0o755);
    execFileSync("chown", ["postgres:postgres", this.root]);
    this.bin = path.join(this.root, "bin");
    this.units = path.join(this.root, "units");
    fs.mkdirSync(this.bin);
    fs.mkdirSync(this.units);
    fs.writeFileSync(
      path.join(this.bin, "systemctl"),
      `#!/bin/bash
# stand-in systemctl: <unit>.pg files name a test cluster; other units are state files.
set -euo pipefail
cmd=$1; shift
noblock=""
while [[ "\${1:-}" == --* ]]; do [ "$1" != --no-block ] || noblock=yes; shift; done
unit=$1 f=${this.units}/$1
echo "$cmd $unit" >>${this.units}/calls
if [ -f "$f.pg" ]; then
  NOTIFY=""
  . "$f.pg"
  case $cmd in
    start)
      if [ -n "$noblock" ]; then
        # --no-block: queue the start and return (systemctl(1)).
        runuser -u postgres -- ${BIN}/pg_ctl -D "$DATA" -l "$DATA.log" -o "-p $PORT" -W start >/dev/null
      elif [ -n "$NOTIFY" ]; then
        # PGDG's EL unit: Type=notify without a start timeout, waits until the server is ready.
        runuser -u postgres -- ${BIN}/pg_ctl -D "$DATA" -l "$DATA.log" -o "-p $PORT" -W start >/dev/null
        # (for ever in the real unit; here at most 150 s, so a test of the old code ends)
        for _ in $(seq 1 300); do runuser -u postgres -- ${BIN}/pg_isready -q -p "$PORT" && break; sleep 0.5; done
      else
        runuser -u postgres -- ${BIN}/pg_ctl -D "$DATA" -l "$DATA.log" -o "-p $PORT" -w -t 60 start >/dev/null
      fi ;;
    stop) if runuser -u postgres -- ${BIN}/pg_ctl -D "$DATA" status >/dev/null; then runuser -u postgres -- ${BIN}/pg_ctl -D "$DATA" -m fast -w -t 60 stop >/dev/null; fi ;;
    is-active) runuser -u postgres -- ${BIN}/pg_ctl -D "$DATA" status >/dev/null ;;
    is-enabled | enable) ;;
    show) echo no ;;
    *) exit 3 ;;
  esac
else
  case $cmd in
    start) touch "$f.active" ;;
    stop) rm -f "$f.active" ;;
    is-active) [ -f "$f.active" ] ;;
    *) exit 3 ;;
  esac
fi
`,
      { mode: 0o755 },
    );
  }

  calls(): string[] {
    const f = path.join(this.units, "calls");
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n") : [];
  }

  /** Runs a step as the program would: the rendered script under bash, as root. */
  step(bodies: readonly string[], vars: Record<string, ShellValue>, stdin?: string): StepResult {
    const script = renderScript({ description: "test step", host: String(vars.HOST_NAME ?? "test"), vars, bodies });
    const r = spawnSync("bash", ["-c", script], { input: stdin ?? "", encoding: "utf8", env: { ...process.env, PATH: `${this.bin}:${process.env.PATH}` }, timeout: 180_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** The same, without blocking: the test can watch the servers while the step runs. */
  stepAsync(bodies: readonly string[], vars: Record<string, ShellValue>, stdin?: string): Promise<StepResult> {
    const script = renderScript({ description: "test step", host: String(vars.HOST_NAME ?? "test"), vars, bodies });
    const p = spawn("bash", ["-c", script], { env: { ...process.env, PATH: `${this.bin}:${process.env.PATH}` } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.stdin.end(stdin ?? "");
    return new Promise((resolve) => p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
  }

  destroy(clusters: readonly Cluster[]): void {
    for (const c of clusters) spawnSync("runuser", ["-u", "postgres", "--", `${BIN}/pg_ctl`, "-D", c.data, "-m", "immediate", "-w", "stop"], { stdio: "ignore" });
    if (!process.env.SW_KEEP) fs.rmSync(this.root, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if (fs.existsSync(`/var/run/postgresql/.s.PGSQL.${port}`)) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer().once("error", () => resolve(false)).listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

const asPostgres = (cmd: string, args: string[], input?: string) =>
  execFileSync("runuser", ["-u", "postgres", "--", cmd, ...args], { encoding: "utf8", ...(input !== undefined ? { input } : {}), stdio: ["pipe", "pipe", "pipe"] });

export class Cluster {
  constructor(readonly bed: Bed, readonly name: string, readonly port: number) {}
  get data(): string {
    return path.join(this.bed.root, this.name);
  }
  get service(): string {
    return `pg-${this.name}`;
  }
  sql(q: string, db = "postgres"): string {
    return asPostgres(`${BIN}/psql`, ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-p", String(this.port), "-d", db, "-c", q]).trim();
  }
  ctl(...args: string[]): void {
    asPostgres(`${BIN}/pg_ctl`, ["-D", this.data, "-l", `${this.data}.log`, "-o", `-p ${this.port}`, "-w", "-t", "60", ...args]);
  }
  /** notify: its unit's start waits until the server accepts connections, without a timeout (PGDG on EL). */
  register(o: { notify?: boolean } = {}): void {
    fs.writeFileSync(path.join(this.bed.units, `${this.service}.pg`), `DATA=${this.data}\nPORT=${this.port}\n${o.notify ? "NOTIFY=yes\n" : ""}`);
  }
  /** Variables of the switchover steps for this host. */
  vars(extra: Record<string, ShellValue> = {}): Record<string, ShellValue> {
    return { BINDIR: BIN, DATA_DIR: this.data, CONF_DIR: this.data, PG_PORT: this.port, SERVICE: this.service, HOST_NAME: this.name, REBUILD_TOKEN: "", ...extra };
  }
}

/** A primary with checksums (as cluster.sh creates it), the replication role and table t. */
export async function primary(bed: Bed, name: string, o: { checksums?: boolean; conf?: string } = {}): Promise<Cluster> {
  const c = new Cluster(bed, name, await freePort());
  asPostgres(`${BIN}/initdb`, ["-D", c.data, "--auth-local=trust", "--auth-host=scram-sha-256", "-U", "postgres", ...(o.checksums === false ? [] : ["--data-checksums"])]);
  fs.appendFileSync(
    path.join(c.data, "postgresql.conf"),
    `listen_addresses = '127.0.0.1'\nunix_socket_directories = '/var/run/postgresql'\nwal_level = replica\nmax_wal_senders = 10\nhot_standby = on\nfsync = off\n${o.conf ?? ""}`,
  );
  // Replication without a password (the walreceiver has no .pgpass here); pg_rewind's normal
  // connection with the password the rejoin step writes to its passfile.
  fs.writeFileSync(
    path.join(c.data, "pg_hba.conf"),
    "local all all trust\nhost replication backup 127.0.0.1/32 trust\nhost postgres backup 127.0.0.1/32 scram-sha-256\nhost all postgres 127.0.0.1/32 trust\n",
  );
  c.register();
  c.ctl("start");
  c.sql(`CREATE ROLE backup LOGIN REPLICATION PASSWORD '${REPL_PASSWORD}'`);
  c.sql("CREATE TABLE t (id integer PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())");
  return c;
}

/** A streaming standby of `from` on slot gitlab_ha_<name>, as basebackup.sh builds one. */
export async function standby(bed: Bed, name: string, from: Cluster): Promise<Cluster> {
  const c = new Cluster(bed, name, await freePort());
  asPostgres(`${BIN}/pg_basebackup`, ["-D", c.data, "-h", "127.0.0.1", "-p", String(from.port), "-U", "backup", "-R", "-X", "stream", "-C", "-S", `gitlab_ha_${name}`, "--checkpoint=fast"]);
  c.register();
  c.ctl("start");
  return c;
}

export async function waitFor(what: string, f: () => boolean, seconds = 30): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    try {
      if (f()) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A client inserting a numbered row every few milliseconds into whichever server `port` names,
 * over TCP; a row counts as committed when the server returned its id. A dropped connection
 * (psql exits in batch mode) is reopened to the current target.
 */
export class Writer {
  port: number;
  private next = 1;
  private proc?: ChildProcessWithoutNullStreams;
  private timer?: NodeJS.Timeout;
  readonly committed: { id: number; port: number; at: number }[] = [];
  private stopped = false;
  constructor(port: number, readonly everyMs = 5, firstId = 1) {
    this.port = port;
    this.next = firstId;
  }
  start(): void {
    this.timer = setInterval(() => this.tick(), this.everyMs);
  }
  private tick(): void {
    if (this.stopped) return;
    if (!this.proc) this.open();
    this.proc!.stdin.write(`INSERT INTO t (id) VALUES (${this.next++}) RETURNING id;\n`);
  }
  private open(): void {
    const port = this.port;
    // stdbuf: psql writes to a pipe fully buffered otherwise, and the commit times would be late.
    const p = spawn("runuser", ["-u", "postgres", "--", "stdbuf", "-oL", `${BIN}/psql`, "-X", "-At", "-h", "127.0.0.1", "-p", String(port), "-d", "postgres"]);
    let buf = "";
    p.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) if (/^\d+$/.test(l)) this.committed.push({ id: Number(l), port, at: Date.now() });
    });
    p.stderr.on("data", () => undefined);
    p.stdin.on("error", () => undefined);
    p.on("exit", () => {
      if (this.proc === p) this.proc = undefined;
    });
    this.proc = p;
  }
  /** Points the client at another server (GitLab re-pointed): the next row goes there. */
  repoint(port: number): void {
    this.port = port;
    const p = this.proc;
    this.proc = undefined;
    p?.stdin.end();
  }
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const p = this.proc;
    if (p) await new Promise<void>((r) => (p.exitCode !== null ? r() : (p.on("exit", () => r()), p.stdin.end())));
    await new Promise((r) => setTimeout(r, 200));
  }
  /** Longest time between two committed rows: the write-unavailability window. */
  longestGapMs(): number {
    let gap = 0;
    for (let i = 1; i < this.committed.length; i++) gap = Math.max(gap, this.committed[i]!.at - this.committed[i - 1]!.at);
    return gap;
  }
}
