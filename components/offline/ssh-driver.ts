// Runs a remote.Command's command line over real SSH with the OpenSSH client, as the command
// provider does: one session, the command handed to the login shell, stdin fed from the input,
// connection attempts retried up to dialErrorLimit while the host boots.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run, RunResult } from "./run";

export interface Connection {
  readonly host: string;
  readonly port?: number;
  readonly user?: string;
  readonly privateKey?: string;
  readonly hostKey?: string;
  readonly dialErrorLimit?: number;
  readonly perDialTimeout?: number;
  readonly proxy?: unknown;
  readonly agentSocketPath?: string;
}

/** ssh's own failures (exit 255 before the command ran) that a retry can cure. */
const TRANSIENT = /Connection refused|Connection reset|Connection closed|kex_exchange_identification|timed out|No route to host/;

export async function sshRun(c: Connection, command: string, stdin?: string): Promise<RunResult> {
  if (c.proxy) throw new Error("lab executor: connections through a bastion (proxy) are not implemented");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-ha-ssh-"));
  try {
    const args = ["-p", String(c.port ?? 22), "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", `ConnectTimeout=${c.perDialTimeout ?? 15}`];
    if (c.privateKey) {
      const key = path.join(dir, "key");
      fs.writeFileSync(key, c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`, { mode: 0o600 });
      args.push("-i", key, "-o", "IdentitiesOnly=yes");
    }
    if (c.hostKey) {
      const known = path.join(dir, "known_hosts");
      fs.writeFileSync(known, `[${c.host}]:${c.port ?? 22} ${c.hostKey}\n`);
      args.push("-o", `UserKnownHostsFile=${known}`, "-o", "StrictHostKeyChecking=yes");
    } else {
      // Lab hosts get new host keys with every container; the provider accepts any key too.
      args.push("-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no");
    }
    const env = c.agentSocketPath ? { ...process.env, SSH_AUTH_SOCK: c.agentSocketPath } : process.env;
    const limit = c.dialErrorLimit ?? 10;
    for (let attempt = 1; ; attempt++) {
      const r = await run("ssh", [...args, `${c.user ?? "root"}@${c.host}`, "--", command], { ...(stdin !== undefined ? { stdin } : {}), env });
      if (r.code === 255 && TRANSIENT.test(r.stderr) && attempt < limit) {
        await new Promise((res) => setTimeout(res, 1000));
        continue;
      }
      return r;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
