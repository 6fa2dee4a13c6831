// Runners leaving the config, against the shared loopback stand-in of GitLab's runner API
// (test/gitlab-api-stand-in.ts), which records every request: a glrt- runner loses only this host's runner manager (gitlab-runner commands/unregister.go),
// a legacy runner is deleted; form fields are text, never files; and the config rules around runners
// (registration tokens since 17.0, credentials in URLs, the runner version).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { ConfigError, validateConfig } from "../../components/config/load";
import { runnersSchema } from "../../components/config/schema";
import { runnerVersionOf } from "../../components/runner/host";
import { GitlabApiStandIn, runRegisterStep } from "../gitlab-api-stand-in";
import { byName, evaluateStack } from "../helpers";

describe("runner removal (shared stand-in of GitLab's runner API)", () => {
  let api: GitlabApiStandIn;
  let url: string;
  let dir: string;
  const requests = () => api.requests;
  const runners = runnersSchema.parse({
    version: "17.11.0",
    runners: [
      { name: "created", host: "r1", executor: "shell" },
      { name: "legacy", host: "r1", executor: "shell", description: "legacy runner", tags: ["t"] },
    ],
  });

  const step = async (names: string[], tokens: Record<string, { token?: string; registrationToken?: string }>, description?: string) => {
    const r = await runRegisterStep({
      dir,
      runners,
      names,
      url,
      tokens,
      descriptions: names.map((n) => (n === "legacy" && description ? description : n)),
      tags: names.map((n) => (n === "legacy" ? "t" : "")),
    });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  before(async () => {
    api = await GitlabApiStandIn.start();
    url = api.url;
    api.createRunner("glrt-created-in-gitlab_1");
    api.allowRegistrationToken("GR1348941legacy");
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "runner-removal-"));
    api.reset();
  });
  after(() => api.close());

  it("a glrt- runner: DELETE /api/v4/runners/managers with its token and this host's system id; the runner itself is not deleted", async () => {
    fs.writeFileSync(path.join(dir, ".runner_system_id"), "s_0123456789ab\n");
    await step(["created"], { created: { token: "glrt-created-in-gitlab_1" } });
    // Verified, never registered; with this host's system id, as VerifyRunner sends it.
    assert.deepEqual(requests().map((r) => `${r.method} ${r.path}`), ["POST /api/v4/runners/verify"]);
    assert.deepEqual(JSON.parse(requests()[0]!.body), { token: "glrt-created-in-gitlab_1", system_id: "s_0123456789ab" });
    assert.deepEqual(api.managersOf("glrt-created-in-gitlab_1"), ["s_0123456789ab"]);
    api.reset();
    const out = await step([], {});
    assert.match(out, /runner created: runner manager s_0123456789ab unregistered at http:\/\/127\.0\.0\.1:\d+ \(the runner stays in GitLab\)/);
    assert.deepEqual(requests().map((r) => `${r.method} ${r.path}`), ["DELETE /api/v4/runners/managers"]);
    assert.equal(requests()[0]!.contentType, "application/json");
    assert.equal(requests()[0]!.runnerToken, "glrt-created-in-gitlab_1");
    assert.deepEqual(JSON.parse(requests()[0]!.body), { token: "glrt-created-in-gitlab_1", system_id: "s_0123456789ab" });
    assert.deepEqual(api.managersOf("glrt-created-in-gitlab_1"), []);
    assert.ok(api.knows("glrt-created-in-gitlab_1"), "the runner stays in GitLab");
    assert.ok(!requests().some((r) => r.method === "DELETE" && r.path === "/api/v4/runners"), "DELETE /api/v4/runners would delete the runner for every host");
    assert.deepEqual(fs.readdirSync(path.join(dir, "tokens")), [], "token forgotten");
    assert.equal(await step([], {}), "", "a second run changes nothing");
    assert.equal(requests().length, 1);
  });

  it("a glrt- runner this host never ran (no .runner_system_id): forgotten, nothing sent", async () => {
    await step(["created"], { created: { token: "glrt-created-in-gitlab_1" } });
    assert.deepEqual(JSON.parse(requests()[0]!.body), { token: "glrt-created-in-gitlab_1" }, "no system id to send");
    api.reset();
    const out = await step([], {});
    assert.match(out, /runner created: forgotten \(no runner system id/);
    assert.equal(requests().length, 0);
  });

  it("a runner registered with a registration token keeps the legacy DELETE /api/v4/runners", async () => {
    await step(["legacy"], { legacy: { registrationToken: "GR1348941legacy" } });
    assert.deepEqual(requests().map((r) => `${r.method} ${r.path}`), ["POST /api/v4/runners"]);
    const issued = fs.readFileSync(path.join(dir, "tokens", "legacy"), "utf8");
    assert.ok(api.knows(issued));
    await step([], {});
    assert.deepEqual(requests().map((r) => `${r.method} ${r.path}`), ["POST /api/v4/runners", "DELETE /api/v4/runners"]);
    assert.match(issued, /^t1_issued/, "GitLab issues a command-line registered runner a token without the glrt- prefix");
    assert.ok(requests()[1]!.body.includes(`name="token"\r\n\r\n${issued}\r\n`), requests()[1]!.body);
    assert.ok(!api.knows(issued), "deleted in GitLab");
  });

  it("sends a description starting with @ or < as text, never the named file", async () => {
    const secret = path.join(dir, "config-with-tokens.toml");
    fs.writeFileSync(secret, "token = \"glrt-would-leak\"\n");
    await step(["legacy"], { legacy: { registrationToken: "GR1348941legacy" } }, `@${secret}`);
    assert.equal(requests().length, 1);
    const body = requests()[0]!.body;
    assert.ok(!body.includes("would-leak"), "the file named by the description was uploaded");
    assert.ok(body.includes(`name="description"\r\n\r\n@${secret}\r\n`), body);
    assert.match(body, /name="tag_list"\r\n\r\nt\r\n/);
    assert.match(body, /name="token"\r\n\r\nGR1348941legacy\r\n/);
  });
});

describe("runner config rules", () => {
  const base = (over: { gitlab?: Record<string, unknown>; runners?: Record<string, unknown> }) => ({
    hosts: [{ name: "db", address: "10.0.0.1", roles: ["postgres-primary"] }, { name: "r1", address: "10.0.0.2", roles: ["runner"] }],
    ssh: { agent: true },
    firewall: { adminNetworks: ["10.0.0.0/8"] },
    // A server every GitLab release used here bundles a pg_dump for (17.0 bundles only 14).
    postgres: { version: 14 },
    gitlab: { externalUrl: "https://gitlab.example.com", ...over.gitlab },
    runners: { runners: [{ name: "a", host: "r1", executor: "shell" }], ...over.runners },
  });
  const issues = (values: Record<string, unknown>, tokens?: string) => {
    try {
      validateConfig({ values: { ...values, ...(tokens ? { runnerTokens: tokens } : {}) }, secretKeys: new Set(tokens ? ["runnerTokens"] : []) });
      return [];
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.issues.map((i) => `${i.path}: ${i.message}`);
    }
  };
  const legacy = JSON.stringify({ a: { registrationToken: "GR1348941x" } });

  it("refuses a registration token for GitLab 17.0 and later unless the instance re-enabled them", () => {
    const refused = issues(base({ gitlab: { version: "17.0.1" }, runners: { version: "17.0.0" } }), legacy);
    assert.ok(refused.some((i) => i.startsWith("runnerTokens.a.registrationToken: GitLab 17.0.1 has runner registration tokens disabled") && i.includes("runners.allowRunnerRegistrationToken")), refused.join("\n"));
    assert.deepEqual(issues(base({ gitlab: { version: "17.0.1" }, runners: { version: "17.0.0", allowRunnerRegistrationToken: true } }), legacy), []);
    assert.deepEqual(issues(base({ gitlab: { version: "16.11.10" }, runners: { version: "16.11.0" } }), legacy), []);
    // A runner of another GitLab (its own url) is not judged by this stack's version.
    assert.deepEqual(issues(base({ gitlab: { version: "17.11.7" }, runners: { runners: [{ name: "a", host: "r1", executor: "shell", url: "https://other.example.com" }] } }), legacy), []);
  });

  it("refuses a runner description that curl -F would read as a file, with its key path", () => {
    for (const d of ["@/etc/gitlab-runner/config.toml", "<secret", "two\nlines"]) {
      const got = issues(base({ gitlab: { version: "17.11.7" }, runners: { runners: [{ name: "a", host: "r1", executor: "shell", description: d }] } }), JSON.stringify({ a: { token: "glrt-x" } }));
      assert.ok(got.some((i) => i.startsWith("runners.runners[0].description: expected one line of text not starting with '@' or '<'")), `${d}: ${got.join("\n")}`);
    }
  });

  it("refuses a URL with credentials in every URL key, with its key path", () => {
    const got = issues(base({
      gitlab: { version: "17.11.7", externalUrl: "https://root:hunter2@gitlab.example.com" },
      runners: { runners: [{ name: "a", host: "r1", executor: "shell", url: "https://ci@gitlab.example.com/" }] },
    }), JSON.stringify({ a: { token: "glrt-x" } }));
    assert.ok(got.some((i) => i.startsWith("gitlab.externalUrl: expected a URL without credentials")), got.join("\n"));
    assert.ok(got.some((i) => i.startsWith("runners.runners[0].url: expected a URL without credentials")), got.join("\n"));
  });

  it("defaults the runner version to GitLab's major.minor", async () => {
    const r = runnersSchema.parse({});
    assert.equal(runnerVersionOf(r, "18.5.2"), "18.5.0");
    assert.equal(runnerVersionOf(runnersSchema.parse({ version: "18.4.1" }), "18.5.2"), "18.4.1");
    const e = await evaluateStack("prod");
    assert.equal(byName(e, "runner-runner1-container").values.image, "gitlab/gitlab-runner:v18.5.0");
    const got = issues(base({}), JSON.stringify({ a: { token: "glrt-x" } }));
    assert.ok(got.some((i) => i.startsWith("runners.version: expected the gitlab-runner version")), got.join("\n"));
  });
});
