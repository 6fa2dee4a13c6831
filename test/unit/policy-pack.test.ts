// The policy pack stands alone: `pulumi policy publish` ships only its folder (npm pack) and
// installs only the dependencies its package.json names.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "../helpers";

const PACK = path.join(ROOT, "components/policy/pack");

describe("policy pack folder", () => {
  it("compiles from exactly the files npm pack ships, with only its own dependencies", () => {
    const packed = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: PACK, encoding: "utf8" })) as { files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path).sort();
    for (const f of ["PulumiPolicy.yaml", "index.ts", "package.json"]) assert.ok(files.includes(f), `${f} not shipped: ${files.join(", ")}`);

    const manifest = JSON.parse(fs.readFileSync(path.join(PACK, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    const deps = Object.keys(manifest.dependencies ?? {});
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-pack-"));
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.copyFileSync(path.join(PACK, f), path.join(dir, f));
    }
    // Only the declared dependencies (and what they need) are resolvable, as after an install there.
    for (const d of [...deps, "@types/node", "typescript"]) {
      fs.mkdirSync(path.dirname(path.join(dir, "node_modules", d)), { recursive: true });
      fs.symlinkSync(path.join(ROOT, "node_modules", d), path.join(dir, "node_modules", d));
    }
    for (const f of files.filter((x) => x.endsWith(".ts"))) {
      for (const m of fs.readFileSync(path.join(dir, f), "utf8").matchAll(/from "([^"]+)"/g)) {
        const spec = m[1]!;
        if (spec.startsWith(".")) assert.ok(fs.existsSync(path.join(dir, path.dirname(f), `${spec}.ts`)), `${f} imports ${spec}, which is not shipped`);
        else assert.ok(deps.some((d) => spec === d || spec.startsWith(`${d}/`)), `${f} imports ${spec}, not a dependency of the pack`);
      }
    }
    const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
    execFileSync(process.execPath, [tsc, "--noEmit", "--strict", "--esModuleInterop", "--skipLibCheck", "--module", "commonjs", "--moduleResolution", "node", "--target", "es2022", "--types", "node", ...files.filter((x) => x.endsWith(".ts"))], { cwd: dir, stdio: "pipe" });
  });
});
