// What both resources do with a command's output: buffer stdout and stderr in full, keep both in
// arrival order for the error text, send the chosen streams to the engine line by line, trim one
// trailing newline (P/local/commandOutputs.go run, P/remote/commandOutputs.go run, P/util/util.go LogOutput).
import type { Readable } from "node:stream";
import { redact } from "./values";

export interface Logger {
  /** An ephemeral info status line tied to the resource (GP logging.go Logger.InfoStatus). */
  status(msg: string): void;
  warning(msg: string): void;
  error(msg: string): void;
}

/** P/local/logging.go ShouldLogStdout/ShouldLogStderr: unset logs both, an unknown value logs neither (R21). */
export const logsStdout = (l: unknown) => l === undefined || l === null || l === "stdout" || l === "stdoutAndStderr";
export const logsStderr = (l: unknown) => l === undefined || l === null || l === "stderr" || l === "stdoutAndStderr";

export class Capture {
  private readonly out: Buffer[] = [];
  private readonly err: Buffer[] = [];
  private readonly both: Buffer[] = [];
  private readonly partial = { out: "", err: "" };

  constructor(
    private readonly log: Logger,
    private readonly logging: unknown,
    private readonly secrets: readonly string[],
  ) {}

  attach(stdout: Readable, stderr: Readable): void {
    stdout.on("data", (b: Buffer) => this.take("out", b));
    stderr.on("data", (b: Buffer) => this.take("err", b));
  }

  private take(stream: "out" | "err", b: Buffer): void {
    (stream === "out" ? this.out : this.err).push(b);
    this.both.push(b);
    if (!(stream === "out" ? logsStdout(this.logging) : logsStderr(this.logging))) return;
    // Whole lines of any length (upstream's bufio.Scanner stops at 64 KiB per line: not copied, R21).
    const text = this.partial[stream] + b.toString("utf8");
    const lines = text.split("\n");
    this.partial[stream] = lines.pop()!;
    for (const l of lines) this.emit(l);
  }

  private emit(line: string): void {
    this.log.status(redact(line.replace(/\r$/, ""), this.secrets));
  }

  /** Flushes unterminated last lines to the log. */
  finish(): void {
    for (const s of ["out", "err"] as const) if (this.partial[s]) this.emit(this.partial[s]), (this.partial[s] = "");
  }

  // Exactly one trailing "\n" goes (strings.TrimSuffix): not "\r\n", not several (R20).
  get stdout(): string {
    return Buffer.concat(this.out).toString("utf8").replace(/\n$/, "");
  }
  get stderr(): string {
    return Buffer.concat(this.err).toString("utf8").replace(/\n$/, "");
  }

  /** `<cause>: running <Go %q of the command>:\n<stdout+stderr>` (R19), secrets redacted. */
  failure(cause: string, command: string): Error {
    return new Error(redact(`${cause}: running ${goQuote(command)}:\n${Buffer.concat(this.both).toString("utf8")}`, this.secrets));
  }
}

/** Go's strconv.Quote for the common cases: JSON escaping, then Go's spellings of the rest. */
export function goQuote(s: string): string {
  return JSON.stringify(s)
    .replace(/\\u0007/g, "\\a")
    .replace(/\\b/g, "\\b")
    .replace(/\\u000b/g, "\\v")
    .replace(/\\u00([0-9a-f]{2})/g, "\\x$1")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
