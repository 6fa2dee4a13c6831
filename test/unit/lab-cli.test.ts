// The main job's wiring: with a Pulumi CLI on PATH, `npm run lab` runs it on the lab stack with a
// local file backend; without one, it falls back to the lab executor (exercised by the lab tests).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { findPulumi } from "../../components/offline/lab-cli";
import { ROOT } from "../helpers";

describe("npm run lab", () => {
  it("drives the Pulumi CLI when one is installed", () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-pulumi-"));
    const log = path.join(bin, "calls.log");
    // A stand-in CLI that records how it was called.
    fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\necho "$PULUMI_BACKEND_URL|$*" >> ${log}\n`, { mode: 0o755 });
    const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` };
    for (const verb of ["up", "destroy"]) {
      const r = spawnSync(process.execPath, [path.join(ROOT, "dist/components/offline/lab-cli.js"), verb], { cwd: ROOT, env, encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    }
    const backend = `file://${path.join(ROOT, ".lab", "pulumi")}`;
    assert.deepEqual(fs.readFileSync(log, "utf8").trim().split("\n"), [
      `${backend}|stack select --create --non-interactive lab`,
      `${backend}|up --yes --non-interactive --stack lab`,
      `${backend}|stack select --create --non-interactive lab`,
      `${backend}|destroy --yes --non-interactive --stack lab`,
    ]);
  });

  it("finds the CLI only when it is on PATH", () => {
    assert.equal(findPulumi({ PATH: "/nonexistent" }), undefined);
  });
});
