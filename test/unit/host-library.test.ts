// The shared host library under the real engine: steps on one host run at the same time, and a
// step's command text decides whether the engine re-runs it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { libraryFor } from "../../components/host/script";
import { readAsset } from "../../components/host/assets";

const LIB = readAsset("components/host/scripts/lib.sh");
const USES_FAMILY = readAsset("components/drbd/scripts/install.sh");
const NO_FAMILY = readAsset("components/host/scripts/write-file.sh");

describe("host library", () => {
  it("a change to one function changes only the steps that call it", () => {
    assert.match(USES_FAMILY, /require_family/);
    assert.doesNotMatch(NO_FAMILY, /require_family/);
    const edited = LIB.replace(/(require_family\(\) \{\n)/, "$1  : an edit\n");
    assert.notEqual(edited, LIB);
    assert.notEqual(libraryFor(edited, [USES_FAMILY]), libraryFor(LIB, [USES_FAMILY]), "the step calling it must change");
    assert.equal(libraryFor(edited, [NO_FAMILY]), libraryFor(LIB, [NO_FAMILY]), "a step not calling it must not change");
  });

  it("carries the functions a step calls, also through other functions", () => {
    const lib = libraryFor(LIB, ["require_family"]);
    assert.match(lib, /^require_family\(\) \{/m);
    assert.match(lib, /^die\(\) \{/m, "require_family calls die");
    assert.doesNotMatch(libraryFor(LIB, ["echo hi"]), /^(die|changed|require_family)\(\)/m);
    assert.match(libraryFor(LIB, ["echo hi"]), /^cd \//m, "top-level statements are always carried");
  });

  it("queues parallel package-manager calls on one host instead of failing on the lock", async () => {
    // A stand-in apt-get/dnf that fails as the real ones do when another run holds their lock.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pkg-lock-"));
    for (const tool of ["apt-get", "dnf"]) {
      fs.writeFileSync(
        path.join(dir, tool),
        `#!/bin/sh\nmkdir "${dir}/held" 2>/dev/null || { echo "E: Could not get lock /var/lib/dpkg/lock-frontend" >&2; exit 100; }\nsleep 0.3\nrmdir "${dir}/held"\necho "$0 $*" >> "${dir}/calls"\n`,
        { mode: 0o755 },
      );
    }
    fs.mkdirSync("/run/lock", { recursive: true });
    const step = (call: string) => ["set -euo pipefail", libraryFor(LIB, [call]), call].join("\n");
    const runStep = (call: string) =>
      new Promise<{ code: number; err: string }>((resolve) => {
        const p = spawn("bash", ["-c", step(call)], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
        let err = "";
        p.stderr.on("data", (d: Buffer) => (err += d.toString()));
        p.on("close", (code) => resolve({ code: code ?? 1, err }));
      });
    const results = await Promise.all(["apt-get install -y a", "apt-get install -y b", "dnf install -y c", "apt-get update -q"].map(runStep));
    for (const r of results) assert.equal(r.code, 0, r.err);
    const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
    assert.equal(calls.length, 4);
    assert.ok(calls.some((c) => c.endsWith("apt-get -o DPkg::Lock::Timeout=600 install -y a")), calls.join("\n"));
  });
});
