// The SSH connection of every host of a stack, as the program's own commands use it: operator
// commands (recovery, restore) reach the hosts exactly the way `pulumi up` does.
import { loadStackConfig } from "../config/load";
import type { StackConfig } from "../config/schema";
import { projectRoot } from "../host/assets";
import { commandLine, hostOf, type HostScript } from "../host/script";
import { evaluateProgram } from "./evaluate";
import { sshRun, type Connection } from "./ssh-driver";
import { readStackFile } from "./stack-file";

export interface StackHosts {
  readonly config: StackConfig;
  /** Runs a host script on a host, as root; fails with the script's output. */
  run(host: string, script: Omit<HostScript, "host">): Promise<string>;
}

export async function stackHosts(o: { stackFile: string; stack?: string; overrides?: Record<string, unknown> }): Promise<StackHosts> {
  const root = projectRoot();
  const file = readStackFile(root, o.stackFile, o.overrides);
  // A preview is enough: only the connections are needed, not values generated at `up` time.
  const evaluation = await evaluateProgram({ ...file, stack: o.stack ?? o.stackFile, projectDir: root, preview: true });
  const config = loadStackConfig().config;
  const byHost = new Map<string, { connection: Connection; sudo: boolean }>();
  for (const r of evaluation.resources) {
    if (r.type !== "command:remote:Command") continue;
    const host = hostOf(String(r.values.create));
    if (host && !byHost.has(host)) byHost.set(host, { connection: r.values.connection as Connection, sudo: String(r.values.create).startsWith("sudo ") });
  }
  return {
    config,
    async run(host, script) {
      const c = byHost.get(host);
      if (!c) throw new Error(`no SSH connection for ${host} in the stack`);
      const res = await sshRun(c.connection, commandLine({ ...script, host }, c.sudo));
      if (res.code !== 0) throw new Error(`${host}: ${script.description} failed (exit ${res.code}):\n${(res.stderr || res.stdout).trim()}`);
      return res.stdout;
    },
  };
}
