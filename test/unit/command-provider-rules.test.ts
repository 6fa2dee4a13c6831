// The command provider's Check, Diff and run rules called directly (no engine), each naming the
// upstream file it follows (pulumi-command v1.2.1 provider/pkg/provider/..., pulumi-go-provider infer).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { check } from "../../.ci/engine/command/check";
import { diff } from "../../.ci/engine/command/diff";
import { runLocal } from "../../.ci/engine/command/local";
import { goQuote } from "../../.ci/engine/command/capture";
import { isSecret, SIG, SECRET_SIG, UNKNOWN } from "../../.ci/engine/command/values";
import { tempDirs } from "../helpers";

const sec = (value: unknown) => ({ [SIG]: SECRET_SIG, value });
const tmp = tempDirs("command-rules-");
const quiet = () => {
  const lines: string[] = [];
  return { lines, status: (m: string) => lines.push(m), warning: () => undefined, error: () => undefined };
};
const noTrack = () => () => undefined;

describe("Check (GP infer/resource.go Check, apply_defaults.go, apply_secrets.go; P/remote/connection.go Annotate)", () => {
  it("R6: missing connection.host, an unknown field and a wrong type are failures in the mapper's words; logging 'bogus' passes", () => {
    const r = check("remote", { connection: sec({ port: 22 }), bogus: 1, create: 3, logging: "bogus" });
    assert.deepEqual(r.failures.map((f) => f.reason).sort(), [
      "Field 'create' on 'remote.CommandInputs' must be a 'string'; got 'float64' instead",
      "Missing required field 'host' on 'remote.Connection'",
      "Unrecognized field 'bogus' on 'remote.CommandInputs'",
    ]);
    assert.deepEqual(check("remote", {}).failures, [{ property: "connection", reason: "Missing required field 'connection' on 'remote.CommandInputs'" }]);
    assert.deepEqual(check("local", { logging: "bogus", create: "x" }).failures, []);
  });

  it("R7/R8: remote connection defaults only where absent, explicit 0 kept, proxy only when present; connection and its password secret", () => {
    const r = check("remote", { connection: { host: "h", dialErrorLimit: 0, password: "pw" } });
    assert.equal(r.failures.length, 0);
    assert.ok(isSecret(r.inputs.connection));
    const c = (r.inputs.connection as any).value;
    assert.deepEqual({ ...c, password: undefined }, { host: "h", port: 22, user: "root", dialErrorLimit: 0, perDialTimeout: 15, password: undefined });
    assert.ok(isSecret(c.password));
    assert.equal(c.proxy, undefined);
    const p = (check("remote", { connection: { host: "h", proxy: { host: "b", privateKey: "k" } } }).inputs.connection as any).value.proxy;
    assert.deepEqual({ ...p, privateKey: undefined }, { host: "b", port: 22, user: "root", dialErrorLimit: 10, perDialTimeout: 15, privateKey: undefined });
    assert.ok(isSecret(p.privateKey));
    assert.deepEqual(check("local", { create: "x" }).inputs, { create: "x" }, "local: Check adds nothing");
  });
});

describe("Diff (GP infer/resource.go Diff/diff, GP provider.go DiffResponse.rpc; P/common/inputs.go)", () => {
  const base = { create: "a", triggers: [1], environment: { FOO: "x" }, connection: sec({ host: "h" }) };
  it("R9/R10: nested detailed paths; only triggers as a whole replaces; elements are plain changes; other inputs update; equal is no diff", () => {
    assert.deepEqual(diff("remote", {}, base, { ...base, environment: { FOO: "y" } }).detailed, { "environment.FOO": { kind: "update", replace: false } });
    const t = diff("local", {}, { create: "a" }, { create: "a", triggers: [1] });
    assert.deepEqual([t.replaces, t.detailed], [["triggers"], { triggers: { kind: "add", replace: true } }]);
    const e = diff("local", {}, { triggers: [1] }, { triggers: [2] });
    assert.deepEqual([e.replaces, e.diffs, e.detailed], [[], ["triggers"], { "triggers[0]": { kind: "update", replace: false } }]);
    for (const news of [{ ...base, create: "b" }, { ...base, delete: "d" }, { ...base, connection: sec({ host: "h2" }) }]) {
      const d = diff("remote", {}, base, news);
      assert.equal(d.changes, true);
      assert.deepEqual(d.replaces, []);
    }
    assert.deepEqual(diff("remote", {}, base, { ...base, connection: sec({ host: "h2" }) }).diffs, ["connection"]);
    assert.equal(diff("remote", {}, base, structuredClone(base)).changes, false);
  });

  it("R9: ignoreChanges takes the old state's value; without old inputs the state's input keys stand in; version and __ keys are dropped", () => {
    const state = { ...base, stdout: "o", stderr: "" };
    assert.equal(diff("remote", state, base, { ...base, environment: { FOO: "y" } }, ["environment.FOO"]).changes, false);
    assert.equal(diff("remote", state, undefined, { ...base, __defaults: [], version: "1" }).changes, false);
  });

  it("R12: an unknown counts as an update; a secret unknown compares unchanged; plain to secret is a change", () => {
    assert.deepEqual(diff("remote", {}, base, { ...base, create: UNKNOWN }).detailed, { create: { kind: "update", replace: false } });
    assert.equal(diff("remote", {}, base, { ...base, connection: sec(UNKNOWN) }).changes, false);
    assert.deepEqual(diff("local", {}, { stdin: "s" }, { stdin: sec("s") }).diffs, ["stdin"]);
  });
});

describe("local run (P/local/commandOutputs.go run)", () => {
  it("R4/R23: /bin/sh -c in the provider's cwd by default; interpreter and dir honoured", async () => {
    const r = await runLocal("echo $0; pwd", {}, { stdout: "", stderr: "" }, quiet(), [], noTrack);
    assert.equal(r.stdout, `/bin/sh\n${process.cwd()}`);
    const d = tmp.next();
    const p = await runLocal("import os; print(os.getcwd())", { interpreter: ["python3", "-c"], dir: d }, { stdout: "", stderr: "" }, quiet(), [], noTrack);
    assert.equal(p.stdout, fs.realpathSync(d));
  });

  it("R20: one trailing newline trimmed, not \\r\\n, not several", async () => {
    assert.equal((await runLocal("printf 'a\\n\\n'", {}, { stdout: "", stderr: "" }, quiet(), [], noTrack)).stdout, "a\n");
    assert.equal((await runLocal("printf 'a\\r\\n'", {}, { stdout: "", stderr: "" }, quiet(), [], noTrack)).stdout, "a\r");
  });

  it("R22/R24: empty stdin is EOF at once; environment over the process env, PULUMI_COMMAND_* last and only when wanted and non-empty", async () => {
    assert.equal((await runLocal("cat; echo done", {}, { stdout: "", stderr: "" }, quiet(), [], noTrack)).stdout, "done");
    const env = 'echo "$HOME|$PULUMI_COMMAND_STDOUT|${PULUMI_COMMAND_STDERR-unset}"';
    assert.equal((await runLocal(env, { environment: { HOME: "/h", PULUMI_COMMAND_STDOUT: "mine" } }, { stdout: "prev", stderr: "" }, quiet(), [], noTrack)).stdout, "/h|prev|unset");
    assert.equal((await runLocal(env, { environment: { HOME: "/h" }, addPreviousOutputInEnv: false }, { stdout: "prev", stderr: "e" }, quiet(), [], noTrack)).stdout, "/h||unset");
  });

  it("R19: error text with Go %q quoting, output in arrival order even with logging none; signal and start errors", async () => {
    const log = quiet();
    const e = await runLocal("echo out; sleep 0.1; echo err >&2; exit 3", { logging: "none" }, { stdout: "", stderr: "" }, log, [], noTrack).catch((x: Error) => x);
    assert.equal((e as Error).message, 'exit status 3: running "echo out; sleep 0.1; echo err >&2; exit 3":\nout\nerr\n');
    assert.deepEqual(log.lines, []);
    const k = await runLocal("kill -9 $$", {}, { stdout: "", stderr: "" }, quiet(), [], noTrack).catch((x: Error) => x);
    assert.match((k as Error).message, /^signal: killed: running "kill -9 \$\$":/);
    const s = await runLocal("x", { interpreter: ["/no/such"] }, { stdout: "", stderr: "" }, quiet(), [], noTrack).catch((x: Error) => x);
    assert.match((s as Error).message, /^fork\/exec \/no\/such: no such file or directory: running "x":/);
    assert.equal(goQuote('a"b\\\n\t'), '"a\\"b\\\\\\n\\t"');
  });

  it("R26: a customTimeouts deadline kills the process and the operation fails", async () => {
    const t0 = Date.now();
    const e = await runLocal("sleep 100", {}, { stdout: "", stderr: "" }, quiet(), [], noTrack, 0.5).catch((x: Error) => x);
    assert.match((e as Error).message, /^signal: killed/);
    assert.ok(Date.now() - t0 < 10_000);
  });

  it("R21: long lines (over 64 KiB) are logged whole, secrets redacted in log lines", async () => {
    const log = quiet();
    await runLocal("head -c 100000 /dev/zero | tr '\\0' x; echo; echo top-s3cr3t", {}, { stdout: "", stderr: "" }, log, ["top-s3cr3t"], noTrack);
    assert.deepEqual(log.lines.map((l) => l.length), [100000, "[secret]".length]);
    assert.equal(log.lines[1], "[secret]");
  });
});

void path;
