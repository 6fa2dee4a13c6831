// Runners: config.toml from a TOML library, checked key by key against what gitlab-runner declares;
// the token and executor rules; the register step run for real against the shared loopback
// stand-in of GitLab's runner API (no GitLab can be had here): verification, rotation, refusal;
// and the runner container's graceful stop.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { parse } from "smol-toml";
import { ConfigError, validateConfig } from "../../components/config/load";
import { runnersSchema } from "../../components/config/schema";
import { renderRunnerConfig } from "../../components/runner/render";
import { byName, evaluateStack } from "../helpers";
import { GitlabApiStandIn, runRegisterStep } from "../gitlab-api-stand-in";

const runners = runnersSchema.parse({
  listenAddress: ":9252",
  sessionServer: { listenAddress: "0.0.0.0:8093", advertiseAddress: "runner1:8093" },
  runners: [
    { name: "a", host: "r1", executor: "docker", limit: 2, buildsDir: "/builds", cacheDir: "/cache", environment: ["FOO=bar"], outputLimit: 8192,
      preGetSourcesScript: "echo pre", preBuildScript: "echo build", postBuildScript: "echo post",
      docker: { image: "alpine:3.20", privileged: false, volumes: ["/cache"], memory: "2g", cpus: "1.5", pullPolicy: ["if-not-present"], allowedImages: ["alpine:*"] },
      cache: { type: "s3", path: "runners", shared: true, settings: { ServerAddress: "s3.example.com", BucketName: "cache", Insecure: false } } },
    { name: "b", host: "r1", executor: "shell", tags: ["legacy", "shell"], requestConcurrency: 3 },
  ],
});

describe("runner config.toml", () => {
  it("is TOML with the runbook's fields, tokens left to the host", () => {
    const text = renderRunnerConfig(runners, runners.runners, "https://gitlab.example.com");
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const doc = JSON.parse(JSON.stringify(parse(text))) as Record<string, any>;
    assert.equal(doc.concurrent, 4);
    assert.equal(doc.log_level, "info");
    assert.equal(doc.listen_address, ":9252");
    assert.equal(doc.session_server.session_timeout, 1800);
    const [a, b] = doc.runners;
    assert.equal(a.token, "@@GITLAB_HA_TOKEN:a@@");
    assert.deepEqual([a.executor, a.limit, a.builds_dir, a.output_limit, a.pre_get_sources_script], ["docker", 2, "/builds", 8192, "echo pre"]);
    // gitlab-runner's defaults where the config is silent (common/config.go, common/consts.go), and
    // request_concurrency 2, not the runner's 1 that it warns about (commands/multi.go).
    assert.deepEqual([doc.shutdown_timeout, a.request_concurrency, b.request_concurrency, b.output_limit, b.limit], [30, 2, 3, 4096, 0]);
    assert.deepEqual(a.docker, { image: "alpine:3.20", privileged: false, volumes: ["/cache"], memory: "2g", cpus: "1.5", pull_policy: ["if-not-present"], allowed_images: ["alpine:*"] });
    assert.deepEqual(a.cache, { Type: "s3", Path: "runners", Shared: true, s3: { ServerAddress: "s3.example.com", BucketName: "cache", Insecure: false } });
    assert.equal(b.url, "https://gitlab.example.com");
    // A second, independent TOML parser agrees.
    const py = execFileSync("python3", ["-c", "import tomllib,sys,json; print(json.dumps(tomllib.loads(sys.stdin.read())))"], { input: text, encoding: "utf8" });
    assert.deepEqual(JSON.parse(py), doc);
  });

  it("refuses a runner with neither token, both, a non-glrt token, or on a host without role runner", () => {
    const base = {
      hosts: [{ name: "db", address: "10.0.0.1", roles: ["postgres-primary"] }, { name: "r1", address: "10.0.0.2", roles: ["runner"] }, { name: "x", address: "10.0.0.3", roles: ["postgres-standby"] }],
      ssh: { agent: true },
      firewall: { adminNetworks: ["10.0.0.0/8"] },
      gitlab: { externalUrl: "https://gitlab.example.com" },
      runners: { runners: [{ name: "a", host: "r1", executor: "shell" }, { name: "b", host: "x", executor: "shell" }, { name: "a", host: "r1", executor: "shell" }] },
    };
    const issues = (tokens?: string) => {
      try {
        validateConfig({ values: { ...base, ...(tokens ? { runnerTokens: tokens } : {}) }, secretKeys: new Set(tokens ? ["runnerTokens"] : []) });
        return [];
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        return e.issues.map((i) => `${i.path}: ${i.message}`);
      }
    };
    const none = issues();
    assert.ok(none.some((i) => i.startsWith("runnerTokens: runner 'a' has neither token")), none.join("\n"));
    assert.ok(none.some((i) => i.startsWith("runners.runners[1].host: host 'x' does not have role runner")));
    assert.ok(none.some((i) => i.startsWith("runners.runners[2].name: duplicate runner name 'a'")));
    const bad = issues(JSON.stringify({ a: { token: "glrt-x", registrationToken: "y" }, b: { token: "abc" }, c: { token: "glrt-z" } }));
    assert.ok(bad.includes("runnerTokens.a: expected one of token and registrationToken, not both"), bad.join("\n"));
    assert.ok(bad.some((i) => i.startsWith("runnerTokens.b.token: expected a runner authentication token (glrt-...)")));
    assert.ok(bad.includes("runnerTokens.c: no runner named 'c' in runners.runners"));
  });
});


/**
 * The keys gitlab-runner reads from config.toml and their TOML types, as common/config.go declares
 * them (Config, SessionServer, RunnerConfig with its embedded RunnerCredentials and RunnerSettings,
 * DockerConfig) and cache/cacheconfig/cacheconfig.go (Config, CacheS3Config), at gitlab-runner main
 * of 2026-08 (d79f3e7b). `int` is Go's int/int64, `datetime` time.Time, `string[]` []string
 * (pull_policy is a StringOrArray).
 */
const RUNNER_KEYS: Record<string, Record<string, string>> = {
  "": { listen_address: "string", session_server: "table", concurrent: "int", check_interval: "int", log_level: "string", log_format: "string", shutdown_timeout: "int", runners: "table[]" },
  session_server: { listen_address: "string", advertise_address: "string", session_timeout: "int" },
  runners: {
    name: "string", limit: "int", output_limit: "int", request_concurrency: "int",
    url: "string", id: "int", token: "string", token_obtained_at: "datetime", token_expires_at: "datetime",
    executor: "string", builds_dir: "string", cache_dir: "string", environment: "string[]",
    pre_get_sources_script: "string", pre_build_script: "string", post_build_script: "string", docker: "table", cache: "table",
  },
  "runners.docker": { image: "string", privileged: "bool", volumes: "string[]", memory: "string", cpus: "string", pull_policy: "string[]", allowed_images: "string[]" },
  "runners.cache": { Type: "string", Path: "string", Shared: "bool", s3: "table" },
  "runners.cache.s3": { ServerAddress: "string", BucketName: "string", Insecure: "bool" },
};

function tomlType(v: unknown): string {
  if (v instanceof Date) return "datetime";
  if (Array.isArray(v)) return v.every((x) => typeof x === "string") ? "string[]" : v.every((x) => typeof x === "object" && x !== null) ? "table[]" : "array";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "object" && v !== null) return "table";
  return typeof v;
}

/** Every key of a parsed config.toml that gitlab-runner does not declare, or declares with another type. */
function undeclaredKeys(doc: Record<string, unknown>, table = ""): string[] {
  const declared = RUNNER_KEYS[table];
  if (!declared) return [`[${table}]: a table gitlab-runner does not read`];
  const out: string[] = [];
  for (const [k, v] of Object.entries(doc)) {
    const type = tomlType(v);
    const key = table ? `${table}.${k}` : k;
    if (declared[k] === undefined) out.push(`${key}: not a gitlab-runner key`);
    else if (declared[k] !== type) out.push(`${key}: ${type}, gitlab-runner declares ${declared[k]}`);
    else if (type === "table") out.push(...undeclaredKeys(v as Record<string, unknown>, key));
    else if (type === "table[]") for (const t of v as Record<string, unknown>[]) out.push(...undeclaredKeys(t, key));
  }
  return out;
}

describe("runner executors and stop settings (config rules)", () => {
  const issues = (runnersValue: Record<string, unknown>) => {
    try {
      validateConfig({
        values: {
          hosts: [{ name: "db", address: "10.0.0.1", roles: ["postgres-primary"] }, { name: "r1", address: "10.0.0.2", roles: ["runner"] }],
          ssh: { agent: true },
          firewall: { adminNetworks: ["10.0.0.0/8"] },
          postgres: { version: 14 },
          gitlab: { externalUrl: "https://gitlab.example.com", version: "17.11.7" },
          runners: runnersValue,
          runnerTokens: JSON.stringify({ a: { token: "glrt-x" } }),
        },
        secretKeys: new Set(["runnerTokens"]),
      });
      return [];
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.issues.map((i) => `${i.path}: ${i.message}`);
    }
  };
  const one = (r: Record<string, unknown>, global: Record<string, unknown> = {}) => issues({ ...global, runners: [{ name: "a", host: "r1", ...r }] });

  it("accepts only the executors it renders, docker only with its docker block, with the key path", () => {
    assert.deepEqual(one({ executor: "docker", docker: { image: "alpine:3.20" } }), []);
    assert.deepEqual(one({ executor: "shell" }), []);
    const noBlock = one({ executor: "docker" });
    assert.ok(noBlock.some((i) => i.startsWith("runners.runners[0].docker: expected a docker block with an image")), noBlock.join("\n"));
    for (const executor of ["docker-autoscaler", "instance", "docker+machine", "kubernetes", "ssh", "custom", "virtualbox", "parallels"]) {
      const got = one({ executor, docker: { image: "alpine:3.20" } });
      assert.ok(got.some((i) => i.startsWith("runners.runners[0].executor: expected shell or docker")), `${executor}: ${got.join("\n")}`);
    }
    const stray = one({ executor: "shell", docker: { image: "alpine:3.20" } });
    assert.ok(stray.some((i) => i.startsWith("runners.runners[0].docker: only used by executor docker")), stray.join("\n"));
  });

  it("keeps request_concurrency and limit within concurrent, and the stop timeout at least shutdown_timeout", () => {
    const over = one({ executor: "shell", requestConcurrency: 5, limit: 6 }, { concurrent: 4 });
    assert.ok(over.some((i) => i.startsWith("runners.runners[0].requestConcurrency: expected at most runners.concurrent (4)")), over.join("\n"));
    assert.ok(over.some((i) => i.startsWith("runners.runners[0].limit: expected at most runners.concurrent (4)")), over.join("\n"));
    const zero = one({ executor: "shell", requestConcurrency: 0 });
    assert.ok(zero.some((i) => i.startsWith("runners.runners[0].requestConcurrency")), zero.join("\n"));
    const short = one({ executor: "shell" }, { shutdownTimeout: 120, stopTimeout: 60 });
    assert.ok(short.some((i) => i.startsWith("runners.stopTimeout: expected at least runners.shutdownTimeout (120)")), short.join("\n"));
  });
});

describe("runner container stop", () => {
  it("stops gitlab-runner with SIGQUIT (graceful) and waits stopTimeout, on docker stop and on replace/destroy", async () => {
    const e = await evaluateStack("prod");
    const c = byName(e, "runner-runner1-container").values;
    assert.equal(c.stopSignal, "SIGQUIT");
    const defaults = runnersSchema.parse({});
    assert.equal(c.stopTimeout, defaults.stopTimeout);
    assert.equal(c.destroyGraceSeconds, defaults.stopTimeout);
    assert.ok((c.stopTimeout as number) >= defaults.shutdownTimeout);
  });
});

describe("runner register step (shared stand-in of GitLab's runner API)", () => {
  let api: GitlabApiStandIn;
  let dir: string;
  const configFile = () => path.join(dir, "config.toml");
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const config = () => parse(fs.readFileSync(configFile(), "utf8")) as { runners: Record<string, any>[] };
  const step = (names: string[], tokens: Record<string, { token?: string; registrationToken?: string }>) =>
    runRegisterStep({ dir, runners, names, url: api.url, tokens, tags: names.map((n) => (n === "b" ? "legacy,shell" : "")) });
  const ok = async (...a: Parameters<typeof step>) => {
    const r = await step(...a);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  before(async () => {
    api = await GitlabApiStandIn.start();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "runner-"));
    api.reset();
  });
  after(() => api.close());

  it("verifies a glrt- token as gitlab-runner register does and writes id, token, token_obtained_at, token_expires_at", async () => {
    const id = api.createRunner("glrt-given-aaaaaaaa", { expiresAt: "2026-12-01T10:00:00.000Z" });
    const before = Date.now();
    const first = await ok(["a"], { a: { token: "glrt-given-aaaaaaaa" } });
    assert.match(first, new RegExp(`runner a: verified at http://127\\.0\\.0\\.1:\\d+ \\(runner id ${id}, token expires 2026-12-01T10:00:00\\.000Z\\)`));
    assert.deepEqual(api.requests.map((r) => `${r.method} ${r.path}`), ["POST /api/v4/runners/verify"]);
    const [verify] = api.requests;
    assert.equal(verify!.contentType, "application/json");
    assert.equal(verify!.runnerToken, "glrt-given-aaaaaaaa", "the RUNNER-TOKEN header, as network.RunnerTokenHeader sends it");
    assert.deepEqual(JSON.parse(verify!.body), { token: "glrt-given-aaaaaaaa" });
    const a = config().runners[0]!;
    assert.equal(a.id, id);
    assert.equal(a.token, "glrt-given-aaaaaaaa");
    assert.ok(a.token_expires_at instanceof Date && a.token_expires_at.toISOString() === "2026-12-01T10:00:00.000Z", String(a.token_expires_at));
    assert.ok(a.token_obtained_at instanceof Date && a.token_obtained_at.getTime() >= before - 1000 && a.token_obtained_at.getTime() <= Date.now());
    for (const f of ["config.toml", "tokens/a", "tokens/a.cred"]) assert.equal((fs.statSync(path.join(dir, f)).mode & 0o777).toString(8), "600", f);
    assert.ok(!fs.readFileSync(path.join(dir, "tokens/a.cred"), "utf8").includes("glrt-"), "the state file keeps only the token's sha256");

    assert.equal(await ok(["a"], { a: { token: "glrt-given-aaaaaaaa" } }), "", "a second run changes nothing");
    assert.equal(api.requests.length, 1, "and sends nothing");
  });

  it("fails on a token GitLab refuses, naming the runner and GitLab's answer, writing nothing", async () => {
    const r = await step(["a"], { a: { token: "glrt-revoked-bbbbbbbb" } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /runner a: GitLab at http:\/\/127\.0\.0\.1:\d+ refused its token: POST \/api\/v4\/runners\/verify answered HTTP 403 403 Forbidden/);
    assert.ok(!fs.existsSync(configFile()));
    assert.ok(!fs.existsSync(path.join(dir, "tokens", "a")));
  });

  it("keeps a token gitlab-runner rotated; the configured token never overwrites it; removal uses it", async () => {
    fs.writeFileSync(path.join(dir, ".runner_system_id"), "s_0123456789ab\n");
    api.createRunner("glrt-rotating-cccccccc", { expiresAt: new Date(Date.now() + 86400_000).toISOString() });
    const tokens = { a: { token: "glrt-rotating-cccccccc" } };
    await ok(["a"], tokens);
    // What gitlab-runner does before the token expires (commands/multi.go resetOneRunnerToken):
    // POST /runners/reset_authentication_token, then it saves config.toml with its TOML encoder.
    const res = await fetch(`${api.url}/api/v4/runners/reset_authentication_token`, { method: "POST", headers: { "content-type": "application/json", "RUNNER-TOKEN": tokens.a.token }, body: JSON.stringify({ token: tokens.a.token }) });
    assert.equal(res.status, 201);
    const reset = (await res.json()) as { token: string; token_expires_at: string };
    assert.ok(!api.knows(tokens.a.token), "the old token is dead");
    let inRunner = false;
    const saved = fs.readFileSync(configFile(), "utf8")
      .replace(/^token = ".*"$/m, `token = "${reset.token}"`)
      .replace(/^token_obtained_at = .*$/m, `token_obtained_at = ${new Date().toISOString()}`)
      .replace(/^token_expires_at = .*$/m, `token_expires_at = ${reset.token_expires_at}`)
      .split("\n")
      .map((l) => ((inRunner = l === "[[runners]]" || (inRunner && !l.startsWith("["))) && l && l !== "[[runners]]" ? `  ${l}` : l))
      .join("\n");
    fs.writeFileSync(configFile(), saved);
    api.reset();

    const again = await ok(["a"], tokens);
    assert.match(again, new RegExp(`runner a: kept the token gitlab-runner rotated \\(expires ${reset.token_expires_at.replace(/\./g, "\\.")}\\)`));
    assert.equal(api.requests.length, 0, "the stale configured token is not sent again");
    assert.equal(config().runners[0]!.token, reset.token);
    assert.equal(config().runners[0]!.token_expires_at.toISOString(), reset.token_expires_at);
    assert.equal(fs.readFileSync(path.join(dir, "tokens", "a"), "utf8"), reset.token);
    assert.equal(await ok(["a"], tokens), "", "then nothing changes");

    const gone = await ok([], {});
    assert.match(gone, /runner a: runner manager s_0123456789ab unregistered/);
    assert.deepEqual(api.requests.map((r) => `${r.method} ${r.path} ${r.runnerToken}`), [`DELETE /api/v4/runners/managers ${reset.token}`]);
  });

  it("verifies a new configured token and replaces the host's with it", async () => {
    api.createRunner("glrt-first-dddddddd");
    const second = api.createRunner("glrt-second-eeeeeeee");
    await ok(["a"], { a: { token: "glrt-first-dddddddd" } });
    assert.equal(config().runners[0]!.token_expires_at.toISOString(), "0001-01-01T00:00:00.000Z", "no expiry: the zero time gitlab-runner writes");
    const out = await ok(["a"], { a: { token: "glrt-second-eeeeeeee" } });
    assert.match(out, new RegExp(`runner a: verified at .* \\(runner id ${second},`));
    assert.deepEqual([config().runners[0]!.token, config().runners[0]!.id], ["glrt-second-eeeeeeee", second]);
  });

  it("registers a legacy runner once, and the config.toml it writes has only keys gitlab-runner declares, with their types", async () => {
    api.createRunner("glrt-given-aaaaaaaa", { expiresAt: "2026-12-01T10:00:00Z" });
    api.allowRegistrationToken("GR1348941-registration");
    const tokens = { a: { token: "glrt-given-aaaaaaaa" }, b: { registrationToken: "GR1348941-registration" } };
    const first = await ok(["a", "b"], tokens);
    assert.match(first, /runner b: registered at http:\/\/127\.0\.0\.1:\d+ \(runner id \d+/);
    const post = api.requests.find((r) => r.path === "/api/v4/runners")!;
    assert.equal(post.method, "POST");
    assert.match(post.body, /name="token"\r\n\r\nGR1348941-registration\r\n/);
    assert.match(post.body, /name="tag_list"\r\n\r\nlegacy,shell\r\n/);
    const b = config().runners[1]!;
    assert.ok(api.knows(b.token), "the token GitLab issued");
    assert.ok(b.id > 0);
    assert.equal(await ok(["a", "b"], tokens), "", "a second run changes nothing");
    assert.equal(api.requests.length, 2, "and registers nothing again");

    assert.deepEqual(undeclaredKeys(parse(fs.readFileSync(configFile(), "utf8")) as Record<string, unknown>), []);
    // The check itself tells a wrong type and an unknown key.
    assert.deepEqual(undeclaredKeys({ concurrent: "4", runners: [{ token_expires_at: "2026-01-01", tokens: "x" }] }), [
      "concurrent: string, gitlab-runner declares int",
      "runners.token_expires_at: string, gitlab-runner declares datetime",
      "runners.tokens: not a gitlab-runner key",
    ]);

    const third = await ok(["a"], { a: tokens.a });
    assert.match(third, /runner b: unregistered at/);
    assert.equal(api.requests.at(-1)!.method, "DELETE");
    assert.ok(!api.knows(b.token));
    assert.deepEqual(config().runners.map((r) => r.name), ["a"]);
  });
});

describe("the GitLab API stand-in answers as GitLab does (gitlab-runner network/gitlab.go)", () => {
  let api: GitlabApiStandIn;
  before(async () => {
    api = await GitlabApiStandIn.start();
  });
  after(() => api.close());
  const call = async (method: string, p: string, body: Record<string, string>, header?: string) => {
    const res = await fetch(`${api.url}/api/v4${p}`, { method, headers: { "content-type": "application/json", ...(header ? { "RUNNER-TOKEN": header } : {}) }, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };

  it("per endpoint: verify 200 with a body, POST /runners 201, DELETEs 204, jobs/request 204, reset 201; 403 unknown token; 404 elsewhere", async () => {
    const id = api.createRunner("glrt-known-ffffffff", { expiresAt: "2026-12-01T00:00:00.000Z" });
    api.allowRegistrationToken("GR1348941reg");
    assert.deepEqual(await call("POST", "/runners/verify", { system_id: "s_0123456789ab" }, "glrt-known-ffffffff"), { status: 200, body: { id, token: "glrt-known-ffffffff", token_expires_at: "2026-12-01T00:00:00.000Z" } });
    assert.deepEqual(await call("POST", "/runners/verify", { token: "glrt-unknown" }), { status: 403, body: { message: "403 Forbidden" } });
    assert.equal((await call("POST", "/runners/verify", { token: "glrt-known-ffffffff" }, "glrt-other")).status, 400, "RUNNER-TOKEN and token must agree");
    assert.deepEqual(await call("POST", "/jobs/request", { token: "glrt-known-ffffffff" }), { status: 204, body: undefined });
    const reg = await call("POST", "/runners", { token: "GR1348941reg", description: "x" });
    assert.equal(reg.status, 201);
    assert.equal((await call("POST", "/runners", { token: "GR1348941wrong" })).status, 403);
    assert.deepEqual(await call("DELETE", "/runners", { token: reg.body!.token as string }), { status: 204, body: undefined });
    assert.deepEqual(await call("DELETE", "/runners/managers", { token: "glrt-known-ffffffff", system_id: "s_0123456789ab" }), { status: 204, body: undefined });
    assert.equal((await call("DELETE", "/runners/managers", { token: "glrt-known-ffffffff", system_id: "s_0123456789ab" })).status, 404, "that manager is gone");
    const reset = await call("POST", "/runners/reset_authentication_token", { token: "glrt-known-ffffffff" });
    assert.equal(reset.status, 201);
    assert.equal((await call("POST", "/jobs/request", { token: "glrt-known-ffffffff" })).status, 403, "the old token is dead after a reset");
    assert.equal((await call("POST", "/jobs/request", { token: reset.body!.token as string })).status, 204);
    assert.equal((await call("POST", "/runners/unknown", { token: reset.body!.token as string })).status, 404);
  });
});
