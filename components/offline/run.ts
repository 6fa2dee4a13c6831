// Runs local processes for the lab executor: docker, ssh and bash, with stdin, captured output
// and no shell in between (arguments are passed as they are).
import { spawn } from "node:child_process";

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], o: { stdin?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on("error", () => undefined); // a command that ignores stdin may close it early
    child.stdin.end(o.stdin ?? "");
  });
}

/** Runs and fails with the command's last output lines when it exits non-zero. */
export async function runOk(cmd: string, args: readonly string[], o: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const r = await run(cmd, args, o);
  if (r.code !== 0) throw new Error(`${cmd} ${args[0] ?? ""} failed (exit ${r.code}):\n${tail(r.stderr || r.stdout)}`);
  return r;
}

export function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).map((l) => `  | ${l}`).join("\n");
}
