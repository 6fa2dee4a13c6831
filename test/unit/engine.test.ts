// The engine build script and how the main job picks an engine: a failed build names the binary,
// the step and Go's last lines, and `npm run lab` says what is missing instead of falling back silently.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { findEngine } from "../../.ci/engine/workspace";
import { ROOT } from "../helpers";

function fakeGo(body: string): { cache: string; go: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-"));
  const go = path.join(dir, "go");
  fs.writeFileSync(go, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return { cache: path.join(dir, "cache"), go };
}

const build = (cache: string, go: string, ci = "") =>
  spawnSync("bash", [path.join(ROOT, ".ci/engine/build")], {
    env: { ...process.env, GITLAB_HA_ENGINE_CACHE: cache, GITLAB_HA_PULUMI_HOME: path.join(cache, "home"), GO: go, CI: ci },
    encoding: "utf8",
  });

describe("engine build", () => {
  it("names the binary, the step and Go's last lines when a build fails, and records it", () => {
    const { cache, go } = fakeGo(
      `echo "go: downloading something" >&2\nfor i in 1 2 3 4 5 6 7 8 9 10; do echo "noise line $i" >&2; done\necho "go: $2 $3: reading proxy: 403 Forbidden" >&2\nexit 1`,
    );
    const r = build(cache, go);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /engine: building pulumi v3\.248\.0/);
    assert.match(r.stderr, /cannot build pulumi 3\.248\.0: step 'go mod download' failed; last lines of its output:/);
    assert.match(r.stderr, /cannot build pulumi-resource-docker 5\.0\.0: step 'go mod download github\.com\/hashicorp\/terraform-plugin-sdk\/v2@v2\.40\.1' failed/);
    assert.match(r.stderr, /cannot build pulumi-resource-random 4\.21\.1: step 'go mod download' failed/);
    assert.doesNotMatch(r.stderr, /pulumi-language-nodejs|pulumi-resource-command/, "no language host, no Go build of command");
    assert.match(r.stderr, /engine: {3}go: .*403 Forbidden/);
    assert.doesNotMatch(r.stderr, /noise line 1\b/, "only the last lines");
    const status = fs.readFileSync(path.join(cache, "status"), "utf8");
    assert.match(status, /^pulumi-resource-docker\t5\.0\.0\tmissing\t.*403 Forbidden/m);

    const engine = findEngine({ PATH: "/nonexistent", GITLAB_HA_ENGINE_CACHE: cache });
    assert.equal(engine.kind, "none");
    assert.match(engine.kind === "none" ? engine.reason : "", /pulumi-resource-random 4\.21\.1 \(go mod download: .*403 Forbidden\)/);
  });

  it("with CI=true a missing piece fails the build, naming it (no silent skip)", () => {
    const { cache, go } = fakeGo(`echo "go: $2 $3: reading proxy: 403 Forbidden" >&2\nexit 1`);
    const r = build(cache, go, "true");
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /engine: missing \(see above and .*status\): pulumi 3\.248\.0 \(go mod download\) pulumi-resource-docker 5\.0\.0/);
    assert.equal(r.stdout, "", "no bin directory is announced");
  });

  it("with no Go on PATH it names Go as the missing step", () => {
    const { cache } = fakeGo("exit 1");
    const r = build(cache, "/nonexistent/go", "true");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot build pulumi 3\.248\.0: step 'find Go' failed[^]*'\/nonexistent\/go' is not on PATH/);
  });

  it("reuses what it built: a cached binary is not built again", () => {
    const { cache, go } = fakeGo(`echo "go must not run for a cached binary" >&2; exit 1`);
    fs.mkdirSync(path.join(cache, "bin"), { recursive: true });
    fs.writeFileSync(path.join(cache, "bin", "pulumi-v3.248.0"), "#!/bin/sh\n", { mode: 0o755 });
    const r = build(cache, go);
    assert.doesNotMatch(r.stderr, /building pulumi v/);
    assert.match(fs.readFileSync(path.join(cache, "status"), "utf8"), /^pulumi\t3\.248\.0\tok\t/m);
    assert.match(r.stderr, /engine: pulumi v3\.248\.0 cached/);
    assert.equal(fs.readlinkSync(path.join(cache, "bin", "pulumi")), "pulumi-v3.248.0", "PulumiCommand.get({ root: cache }) runs bin/pulumi");
  });

  it("a pulumi on PATH wins over the built engine when its own plugins include every one the program needs", () => {
    const fake = (plugins: { kind: string; name: string; version: string }[]) => {
      const bin = fs.mkdtempSync(path.join(os.tmpdir(), "path-pulumi-"));
      // A stand-in CLI answering `pulumi plugin ls --json` as the real one does.
      fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\n[ "$1 $2 $3" = "plugin ls --json" ] && echo '${JSON.stringify(plugins)}'\n`, { mode: 0o755 });
      return bin;
    };
    const all = [
      { kind: "resource", name: "docker", version: "5.0.0" },
      { kind: "resource", name: "random", version: "4.21.1" },
      { kind: "resource", name: "command", version: "1.2.1" },
    ];
    const complete = fake(all);
    const e = findEngine({ PATH: complete, GITLAB_HA_ENGINE_CACHE: "/nonexistent" });
    assert.equal(e.kind, "path");
    assert.equal(e.kind === "path" ? e.pulumi : "", fs.realpathSync(path.join(complete, "pulumi")));
    // Without the real command plugin there, the built engine (here: none) is used instead.
    const partial = findEngine({ PATH: fake(all.slice(0, 2)), GITLAB_HA_ENGINE_CACHE: "/nonexistent" });
    assert.equal(partial.kind, "none");
    assert.match(partial.kind === "none" ? partial.reason : "", /not built yet: run bash \.ci\/setup/);
    assert.equal(findEngine({ PATH: "/nonexistent", GITLAB_HA_ENGINE_CACHE: "/nonexistent" }).kind, "none");
  });
});
