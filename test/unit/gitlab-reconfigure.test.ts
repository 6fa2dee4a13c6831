// gitlab.rb as a file on the volume (issue 17 point 9): a changed setting, or a database switchover
// (new db_host), updates the file and re-runs the reconfigure step; the container, whose inputs no
// longer carry gitlab.rb, is not replaced. The steps' scripts run for real against stand-in
// `docker` and `findmnt` on PATH (no GitLab image can run here).
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { renderScript } from "../../components/host/script";
import { run } from "../../components/offline/run";
import { readStackFile } from "../../components/offline/stack-file";
import { byName, evaluateStack, gitlabRbOf, ROOT, rubySettings, shellcheck } from "../helpers";

type Evaluation = Awaited<ReturnType<typeof evaluateStack>>;
const NODE = "10-228-130-58";

/** Everything of a resource that decides whether the engine updates or replaces it. */
const inputsOf = (e: Evaluation, name: string) => {
  const r = byName(e, name);
  return JSON.stringify({ values: r.values, options: r.options });
};

describe("gitlab.rb changes apply without replacing the container", () => {
  it("a changed setting changes only the file step and the reconfigure step", async () => {
    const before = await evaluateStack("prod");
    const gitlab = JSON.parse(readStackFile(ROOT, "prod").config["gitlab-ha:gitlab"]!) as Record<string, unknown>;
    const changed = await evaluateStack("prod", { overrides: { gitlab: { ...gitlab, puma: { maxThreads: 6 } } } });
    assert.notEqual(gitlabRbOf(before, NODE), gitlabRbOf(changed, NODE));
    assert.equal((rubySettings(gitlabRbOf(changed, NODE), { "/etc/gitlab-ha/db_password": "x" }).puma as { max_threads: number }).max_threads, 6);

    const container = `gitlab-${NODE}-container`;
    assert.equal(inputsOf(changed, container), inputsOf(before, container), "the container's inputs do not depend on gitlab.rb");
    assert.ok(!inputsOf(before, container).includes("gitlab_rails"), "no gitlab.rb in the container's inputs");
    // The volume step is re-run (replaced) exactly when the container would be: also untouched.
    assert.equal(inputsOf(changed, `gitlab-${NODE}-volume`), inputsOf(before, `gitlab-${NODE}-volume`));
    // The file step is updated in place (stdin: an update, R10), the reconfigure step re-runs (its trigger).
    const cfg = (e: Evaluation) => byName(e, `gitlab-${NODE}-config`);
    assert.equal(cfg(changed).values.create, cfg(before).values.create);
    assert.deepEqual(cfg(before).values.triggers, undefined, "no trigger: a content change is an update, not a replace");
    const reconf = (e: Evaluation) => byName(e, `gitlab-${NODE}-reconfigure`);
    const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");
    assert.deepEqual(reconf(before).values.triggers, [sha(gitlabRbOf(before, NODE))]);
    assert.deepEqual(reconf(changed).values.triggers, [sha(gitlabRbOf(changed, NODE))]);
    assert.ok(reconf(before).dependsOn.includes(`docker:index/container:Container::${container}`));
    assert.ok(byName(before, container).dependsOn.some((d) => d.endsWith(`::gitlab-${NODE}-config`)), "the file exists before the container first starts");
  });

  it("a switchover (new db_host) does not replace the container either", async () => {
    const hosts = JSON.parse(readStackFile(ROOT, "lab").config["gitlab-ha:hosts"]!) as { name: string; roles: string[] }[];
    const swapped = hosts.map((h) => (h.name === "pgsql" ? { ...h, roles: ["postgres-standby"] } : h.name === "pgsq2" ? { ...h, roles: ["postgres-primary"] } : h));
    const before = await evaluateStack("lab");
    const moved = await evaluateStack("lab", { overrides: { hosts: swapped } });
    const db = (e: Evaluation) => (rubySettings(gitlabRbOf(e, "gitlab"), { "/etc/gitlab-ha/db_password": "x" }).gitlab_rails as { db_host: string }).db_host;
    assert.notEqual(db(before), db(moved));
    for (const n of ["gitlab", "gitlab2"]) assert.equal(inputsOf(moved, `gitlab-${n}-container`), inputsOf(before, `gitlab-${n}-container`), n);
    assert.notDeepEqual(byName(moved, "gitlab-gitlab-reconfigure").values.triggers, byName(before, "gitlab-gitlab-reconfigure").values.triggers);
  });
});

describe("the gitlab.rb and reconfigure steps on a node (stand-in docker)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-reconfigure-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  const log = path.join(dir, "docker.log");
  // docker inspect answers from FAKE_CONTAINER ("running <RFC 3339 start>" or "created"); exec is logged.
  fs.writeFileSync(
    path.join(bin, "docker"),
    `#!/bin/bash
echo "$*" >>"${log}"
case "$1" in
  inspect) [ -n "\${FAKE_CONTAINER:-}" ] || { echo "Error: No such object: \${!#}" >&2; exit 1; }
           case "$FAKE_CONTAINER" in running*) echo "true \${FAKE_CONTAINER#running }" ;; *) echo "false 0001-01-01T00:00:00Z" ;; esac ;;
  exec) [ "$3 $4" = "gitlab-ctl reconfigure" ] || exit 2; echo "Chef Infra Client finished" ;;
  *) exit 2 ;;
esac
`,
    { mode: 0o755 },
  );
  fs.writeFileSync(
    path.join(bin, "findmnt"),
    `#!/bin/bash
mp=""; while [ $# -gt 0 ]; do case "$1" in --mountpoint|-M) mp=$2; shift ;; esac; shift; done
for m in \${FAKE_MOUNTS:-}; do [ "\${m%%=*}" = "$mp" ] && { echo "\${m#*=}"; exit 0; }; done
exit 1
`,
    { mode: 0o755 },
  );
  const etc = path.join(dir, "vol", "etc", "gitlab");
  fs.mkdirSync(etc, { recursive: true });
  const file = path.join(etc, "gitlab.rb");
  const vars = (onDrbd: boolean, content: string) => ({
    CONFIG_PATH: file, ON_DRBD: onDrbd ? "yes" : "no", MOUNT_POINT: path.join(dir, "vol"), DRBD_DEVICE: "/dev/drbd0",
    CONFIG_SHA256: crypto.createHash("sha256").update(content).digest("hex"), CONTAINER: "gitlab",
  });
  const step = async (body: string, v: Record<string, string>, o: { stdin?: string; container?: string; mounts?: string } = {}) => {
    const script = renderScript({ description: "test", host: "n1", vars: v, bodies: [`components/gitlab/scripts/${body}.sh`] });
    assert.equal(shellcheck(script), "", body);
    fs.rmSync(log, { force: true });
    const r = await run("bash", ["-c", script], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_CONTAINER: o.container ?? "", FAKE_MOUNTS: o.mounts ?? "" },
      ...(o.stdin !== undefined ? { stdin: o.stdin } : {}),
    });
    const docker = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
    return { ...r, docker };
  };
  const iso = (ms: number) => new Date(ms).toISOString();
  const v1 = "external_url 'https://a.example'\npuma['max_threads'] = 4\n";
  const v2 = "external_url 'https://a.example'\npuma['max_threads'] = 6\n";

  it("writes gitlab.rb 0600, once, and not on a DRBD node without the volume", async () => {
    const off = await step("config", vars(true, v1), { stdin: v1 });
    assert.equal(off.code, 0, off.stderr);
    assert.equal(fs.existsSync(file), false, "volume not mounted here: nothing written");
    const w = await step("config", vars(true, v1), { stdin: v1, mounts: `${path.join(dir, "vol")}=/dev/drbd0` });
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /gitlab\.rb written/);
    assert.equal(fs.readFileSync(file, "utf8"), v1);
    assert.equal((fs.statSync(file).mode & 0o777).toString(8), "600");
    const again = await step("config", vars(false, v1), { stdin: v1 });
    assert.equal(again.stdout, "", "second run changes nothing");
  });

  it("reconfigures a running container started before the file changed, once; never a stopped one", async () => {
    fs.writeFileSync(file, v1, { mode: 0o600 });
    const stopped = await step("reconfigure", vars(false, v1), { container: "created" });
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.doesNotMatch(stopped.docker, /exec/, "a stopped container reconfigures when it starts (the image's wrapper)");

    const fileTime = fs.statSync(file).mtimeMs;
    const startedLater = await step("reconfigure", vars(false, v1), { container: `running ${iso(fileTime + 5000)}` });
    assert.equal(startedLater.code, 0, startedLater.stderr);
    assert.doesNotMatch(startedLater.docker, /exec/, "started after the file was written: its start applied it");

    await step("config", vars(false, v2), { stdin: v2 });
    const startedBefore = `running ${iso(fs.statSync(file).mtimeMs - 60_000)}`;
    const r = await step("reconfigure", vars(false, v2), { container: startedBefore });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.docker, /^exec gitlab gitlab-ctl reconfigure$/m);
    assert.match(r.stdout, /gitlab reconfigured/);
    const again = await step("reconfigure", vars(false, v2), { container: startedBefore });
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.docker, /exec/, "second run: the content was applied already");
    assert.equal(again.stdout, "");
  });

  it("does nothing on a DRBD node without the volume, and refuses a gitlab.rb it did not write", async () => {
    fs.writeFileSync(file, v1, { mode: 0o600 });
    const off = await step("reconfigure", vars(true, v2), { container: `running ${iso(0)}` });
    assert.equal(off.code, 0, off.stderr);
    assert.equal(off.docker, "", "GitLab does not run here");
    const edited = await step("reconfigure", vars(false, v2), { container: `running ${iso(0)}` });
    assert.notEqual(edited.code, 0);
    assert.match(edited.stderr, /is not the gitlab\.rb of this converge/);
    assert.doesNotMatch(edited.docker, /exec/);
  });
});
