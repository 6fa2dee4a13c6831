// Create, Update, Delete and Cancel of both resources (R13-R18, R26, R35). Read is left to
// provider.main, which hands back the stored ID and state unchanged, and the engine then keeps the
// stored inputs: upstream has no custom Read either (GP infer/resource.go Read; R34).
import { randomBytes } from "node:crypto";
import { AsyncLocalStorage } from "node:async_hooks";
import type * as provider from "@pulumi/pulumi/provider";
import { check } from "./check";
import { engineLogger } from "./engine-log";
import { runLocal, Running } from "./local";
import { runRemote } from "./remote";
import { SCHEMA, VERSION } from "./schema";
import { isSecret, plain, RawMap, secret, secretStrings } from "./values";

/** Per-call facts provider.main does not pass on: the operation's customTimeouts (seconds). */
export const callContext = new AsyncLocalStorage<{ timeout: number }>();

export type Kind = "local" | "remote";
export function kindOf(urn: string): Kind {
  const type = urn.split("::")[2]?.split("$").pop();
  if (type === "command:local:Command") return "local";
  if (type === "command:remote:Command") return "remote";
  throw new Error(`unknown resource type ${type}`);
}
const nameOf = (urn: string) => urn.split("::").pop()!;

// What error texts and log lines must not show (redacted, not upstream: R19 says it leaks): every
// input that arrived secret except `connection` (secret as a whole, host and user included), and
// connection's password, privateKey and privateKeyPassword (the proxy's too).
function secretsOf(props: RawMap): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(props)) if (k !== "connection") secretStrings(v, false, out);
  const conn = plain(props.connection) as RawMap | undefined;
  for (const c of [conn, conn?.proxy as RawMap | undefined]) {
    for (const f of ["password", "privateKey", "privateKeyPassword"]) if (typeof c?.[f] === "string" && c[f] !== "") out.push(c[f] as string);
  }
  return out;
}

export class CommandProvider implements provider.Provider {
  readonly version = VERSION;
  readonly schema = SCHEMA;
  private readonly running = new Set<Running>();
  private cancelled = false;

  async check(urn: string, _olds: RawMap, news: RawMap): Promise<provider.CheckResult> {
    return check(kindOf(urn), news);
  }

  /** Runs `command` with `props` (inputs, wire form) and `previous` as the earlier output. */
  private async run(urn: string, command: string, props: RawMap, previous: { stdout: string; stderr: string }) {
    const kind = kindOf(urn);
    const inp = plain(props) as Record<string, any>;
    const log = engineLogger(urn);
    const secrets = secretsOf(props);
    const timeout = callContext.getStore()?.timeout ?? 0;
    try {
      if (kind === "local") {
        return await runLocal(command, inp, previous, log, secrets, (r) => (this.running.add(r), () => this.running.delete(r)), timeout);
      }
      // Over SSH a deadline or cancel is noticed only between dial attempts (R26).
      const started = Date.now();
      const self = this;
      const cancel = { get cancelled() { return self.cancelled || (timeout > 0 && Date.now() - started > timeout * 1000); } };
      return await runRemote(command, inp as any, previous, log, secrets, cancel);
    } finally {
      await log.flush();
    }
  }

  /** The output state: every input echoed as it came, secretness included (R2, R35); stdout/stderr plain. */
  private state(props: RawMap, out: { stdout: string; stderr: string }, extra: RawMap = {}): RawMap {
    const s: RawMap = { ...props, ...extra, stdout: out.stdout, stderr: out.stderr };
    if (s.connection !== undefined && s.connection !== null && !isSecret(s.connection)) s.connection = secret(s.connection); // R3, R8
    return s;
  }

  // P/local/commandController.go Create, P/remote/commandController.go Create (R13, R15, R18).
  async create(urn: string, props: RawMap): Promise<provider.CreateResult> {
    const id = `${nameOf(urn)}${randomBytes(4).toString("hex")}`; // resource.NewUniqueHex(name, 8, 0)
    const cmd = props.create === undefined || props.create === null ? undefined : (plain(props.create) as string);
    const out = cmd === undefined ? { stdout: "", stderr: "" } : await this.run(urn, cmd, props, { stdout: "", stderr: "" });
    return { id, outs: this.state(props, out) };
  }

  // P/local/commandController.go Update, P/remote/commandController.go Update (R16, R37, R38): the
  // new inputs, the old stdout/stderr as previous output; `update` if set (even ""), else `create`.
  async update(_id: string, urn: string, olds: RawMap, news: RawMap): Promise<provider.UpdateResult> {
    const previous = { stdout: String(plain(olds.stdout) ?? ""), stderr: String(plain(olds.stderr) ?? "") };
    const pick = news.update !== undefined && news.update !== null ? news.update : news.create;
    // Assets and archive are not produced by this provider (README: deviations); old ones stay.
    const keep: RawMap = Object.fromEntries(["assets", "archive"].filter((k) => k in olds).map((k) => [k, olds[k]]));
    if (pick === undefined || pick === null) return { outs: this.state(news, previous, keep) };
    const out = await this.run(urn, plain(pick) as string, news, previous);
    return { outs: this.state(news, out, keep) };
  }

  // P/local/commandController.go Delete, P/remote/commandController.go Delete (R17, R40): the OLD
  // state's `delete`, environment, connection and output; nothing at all when `delete` is unset.
  async delete(_id: string, urn: string, props: RawMap): Promise<void> {
    if (props.delete === undefined || props.delete === null) return;
    await this.run(urn, plain(props.delete) as string, props, { stdout: String(plain(props.stdout) ?? ""), stderr: String(plain(props.stderr) ?? "") });
  }

  // The engine's Cancel: every running local process dies, remote dial waits stop (GP middleware/cancel).
  async cancel(): Promise<void> {
    this.cancelled = true;
    for (const r of this.running) r.kill();
  }
}
