// command:local:Command's run (R4, R19-R24, R26): P/local/commandOutputs.go run.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { Capture, Logger } from "./capture";

export interface RunInputs {
  interpreter?: string[];
  dir?: string;
  environment?: Record<string, string>;
  stdin?: string;
  addPreviousOutputInEnv?: boolean;
  logging?: unknown;
}

// Go's os/exec spelling of a death by signal (syscall.Signal.String, lowercase names).
const SIGNAL_TEXT: Record<string, string> = {
  SIGKILL: "killed",
  SIGTERM: "terminated",
  SIGINT: "interrupt",
  SIGHUP: "hangup",
  SIGQUIT: "quit",
  SIGABRT: "aborted",
  SIGSEGV: "segmentation fault",
  SIGPIPE: "broken pipe",
  SIGUSR1: "user defined signal 1",
  SIGUSR2: "user defined signal 2",
};

export interface Running {
  kill(): void;
}

/**
 * Runs `command` (R23): argv = interpreter (default /bin/sh -c) + command, in `dir` or the provider's
 * cwd; env = provider env, then `environment`, then PULUMI_COMMAND_* from the previous output (R24).
 * Resolves with stdout/stderr; rejects with upstream's error text (R19).
 */
export function runLocal(
  command: string,
  inp: RunInputs,
  previous: { stdout: string; stderr: string },
  log: Logger,
  secrets: readonly string[],
  track: (r: Running) => () => void,
  timeoutSeconds = 0,
): Promise<{ stdout: string; stderr: string }> {
  const argv = inp.interpreter && inp.interpreter.length > 0 ? [...inp.interpreter, command] : ["/bin/sh", "-c", command];
  const cwd = inp.dir ?? process.cwd();
  const env: NodeJS.ProcessEnv = { ...process.env, ...(inp.environment ?? {}) };
  if (inp.addPreviousOutputInEnv !== false) {
    if (previous.stdout !== "") env.PULUMI_COMMAND_STDOUT = previous.stdout;
    if (previous.stderr !== "") env.PULUMI_COMMAND_STDERR = previous.stderr;
  }
  const cap = new Capture(log, inp.logging, secrets);
  if (!fs.existsSync(cwd)) return Promise.reject(cap.failure(`chdir ${cwd}: no such file or directory`, command));
  const hasStdin = typeof inp.stdin === "string" && inp.stdin.length > 0; // R22
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: [hasStdin ? "pipe" : "ignore", "pipe", "pipe"], detached: true });
    // Cancel and customTimeouts kill the process, as exec.CommandContext does (R26); here its whole
    // process group (detached: its own group), so a child still holding the output pipes dies too.
    const kill = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const untrack = track({ kill });
    const timer = timeoutSeconds > 0 ? setTimeout(kill, timeoutSeconds * 1000) : undefined;
    cap.attach(child.stdout!, child.stderr!);
    if (hasStdin) {
      child.stdin!.on("error", () => undefined); // a command that never reads its stdin is not an error
      child.stdin!.end(inp.stdin);
    }
    let startError: Error | undefined;
    child.on("error", (e: NodeJS.ErrnoException) => (startError = e));
    child.on("close", (code, signal) => {
      untrack();
      if (timer) clearTimeout(timer);
      cap.finish();
      if (startError) {
        const bin = argv[0]!;
        const cause = bin.includes("/") ? `fork/exec ${bin}: ${(startError as NodeJS.ErrnoException).code === "EACCES" ? "permission denied" : "no such file or directory"}` : `exec: "${bin}": executable file not found in $PATH`;
        return reject(cap.failure(cause, command));
      }
      if (signal) return reject(cap.failure(`signal: ${SIGNAL_TEXT[signal] ?? signal}`, command));
      if (code !== 0) return reject(cap.failure(`exit status ${code}`, command));
      resolve({ stdout: cap.stdout, stderr: cap.stderr });
    });
  });
}
