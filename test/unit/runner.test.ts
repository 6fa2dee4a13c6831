// Runners: config.toml from a TOML library, the token rules, and the register step run for real
// against a loopback stand-in of GitLab's runner API (no GitLab can be had here).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "smol-toml";
import { ConfigError, validateConfig } from "../../components/config/load";
import { runnersSchema } from "../../components/config/schema";
import { renderScript } from "../../components/host/script";
import { run } from "../../components/offline/run";
import { tokenLines } from "../../components/runner/host";
import { renderRunnerConfig } from "../../components/runner/render";
import { shellcheck } from "../helpers";

const runners = runnersSchema.parse({
  listenAddress: ":9252",
  sessionServer: { listenAddress: "0.0.0.0:8093", advertiseAddress: "runner1:8093" },
  runners: [
    { name: "a", host: "r1", executor: "docker", limit: 2, buildsDir: "/builds", cacheDir: "/cache", environment: ["FOO=bar"], outputLimit: 8192,
      preGetSourcesScript: "echo pre", preBuildScript: "echo build", postBuildScript: "echo post",
      docker: { image: "alpine:3.20", privileged: false, volumes: ["/cache"], memory: "2g", cpus: "1.5", pullPolicy: ["if-not-present"], allowedImages: ["alpine:*"] },
      cache: { type: "s3", path: "runners", shared: true, settings: { ServerAddress: "s3.example.com", BucketName: "cache", Insecure: false } } },
    { name: "b", host: "r1", executor: "shell", tags: ["legacy", "shell"] },
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

describe("runner register step (loopback stand-in of GitLab's runner API)", () => {
  const requests: { method: string; body: string }[] = [];
  let server: http.Server;
  let url: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runner-"));
  const vars = (names: string[]) => ({
    TOKEN_DIR: path.join(dir, "tokens"),
    SYSTEM_ID_FILE: path.join(dir, ".runner_system_id"),
    TEMPLATE: path.join(dir, "config.toml.tmpl"),
    CONFIG_FILE: path.join(dir, "config.toml"),
    RUNNER_NAMES: names,
    RUNNER_URLS: names.map(() => url),
    RUNNER_DESCRIPTIONS: names,
    RUNNER_TAGS: names.map((n) => (n === "b" ? "legacy,shell" : "")),
  });
  // Async: the stand-in API answers from this very process.
  const step = async (names: string[], tokens: Record<string, { token?: string; registrationToken?: string }>) => {
    const mine = runners.runners.filter((r) => names.includes(r.name)).map((r) => ({ ...r, url }));
    fs.writeFileSync(path.join(dir, "config.toml.tmpl"), renderRunnerConfig(runners, mine, url));
    const script = renderScript({ description: "test", host: "r1", vars: vars(names), bodies: ["components/runner/scripts/register.sh"] });
    assert.equal(shellcheck(script), "");
    const r = await run("bash", ["-c", script], { stdin: tokenLines(JSON.stringify(tokens), names) });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  before(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        requests.push({ method: req.method!, body });
        if (req.method === "POST") res.writeHead(201, { "content-type": "application/json" }).end('{"id":7,"token":"legacy-issued-by-stand-in"}');
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("registers once, never twice, and unregisters a runner that left the config", async () => {
    const tokens = { a: { token: "glrt-given-aaaaaaaa" }, b: { registrationToken: "GR1348941-registration" } };
    const first = await step(["a", "b"], tokens);
    assert.match(first, /runner a: authentication token installed/);
    assert.match(first, /runner b: registered at http:\/\/127\.0\.0\.1/);
    assert.equal(requests.length, 1);
    assert.match(requests[0]!.body, /name="token"\r\n\r\nGR1348941-registration\r\n/);
    assert.match(requests[0]!.body, /name="tag_list"\r\n\r\nlegacy,shell\r\n/);
    const config = parse(fs.readFileSync(path.join(dir, "config.toml"), "utf8")) as { runners: { name: string; token: string }[] };
    assert.deepEqual(config.runners.map((r) => [r.name, r.token]), [["a", "glrt-given-aaaaaaaa"], ["b", "legacy-issued-by-stand-in"]]);
    assert.equal((fs.statSync(path.join(dir, "config.toml")).mode & 0o777).toString(8), "600");
    assert.ok(!first.includes("glrt-") && !first.includes("GR1348941"), "no token in the output");

    assert.equal(await step(["a", "b"], tokens), "", "a second run changes nothing");
    assert.equal(requests.length, 1, "and registers nothing again");

    const third = await step(["a"], { a: tokens.a });
    assert.match(third, /runner b: unregistered at/);
    assert.equal(requests.at(-1)!.method, "DELETE");
    assert.match(requests.at(-1)!.body, /name="token"\r\n\r\nlegacy-issued-by-stand-in\r\n/);
    assert.ok(!fs.existsSync(path.join(dir, "tokens", "b")));
    const after = parse(fs.readFileSync(path.join(dir, "config.toml"), "utf8")) as { runners: { name: string }[] };
    assert.deepEqual(after.runners.map((r) => r.name), ["a"]);
  });
});
