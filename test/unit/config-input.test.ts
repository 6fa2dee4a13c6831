// Bad input that would reach hosts or crash the program: control characters in any string of the
// config, quotes in PostgreSQL settings, broken stack and key files, lab hosts sharing an SSH port.
// Each is a config error with its key path (or file and line), never a stack trace.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, isPrivateKey, rawConfig, validateConfig } from "../../components/config/load";
import type { ConfigIssue } from "../../components/config/rules";
import { readStackFile, StackFileError } from "../../components/offline/stack-file";
import { ROOT } from "../helpers";

type Values = Record<string, unknown>;

/** The prod stack as the CLI passes it, plus every free-form key the schema has. */
function fixture(): { values: Values; secretKeys: Set<string> } {
  const file = readStackFile(ROOT, "prod");
  const raw = rawConfig(file.config, (k) => file.secretKeys.includes(k));
  const values = structuredClone(raw.values) as Values;
  const pg = values.postgres as Values;
  pg.settings = { application_name: "gitlab", work_mem: "16MB" };
  pg.dataDirectory = "/srv/pgdata";
  pg.rebuildStandbys = { pgsq2: "token-1" };
  (values.drbd as Values).acknowledgeSplitBrainRisk = "accepted by J. Doe, CHG-1234";
  const gitlab = values.gitlab as Values;
  gitlab.extraConfig = ["gitlab_rails['time_zone'] = 'UTC'"];
  gitlab.backup = { path: "/var/opt/gitlab/backups", directory: "daily", schedule: "*-*-* 02:00:00" };
  const runners = values.runners as Values;
  runners.listenAddress = "127.0.0.1:9252";
  runners.sessionServer = { listenAddress: "0.0.0.0:8093", advertiseAddress: "runner1:8093" };
  const r = (runners.runners as Values[])[0]!;
  Object.assign(r, {
    url: "https://gitlab.example.com",
    description: "docker runner",
    tags: ["docker"],
    buildsDir: "/builds",
    environment: ["A=b"],
    preGetSourcesScript: "echo a",
    preBuildScript: "echo b",
    postBuildScript: "echo c",
    docker: { image: "alpine:3.20", volumes: ["/cache"], allowedImages: ["alpine:*"] },
    cache: { type: "s3", path: "runner", settings: { BucketName: "cache" } },
  });
  return { values, secretKeys: new Set(raw.secretKeys) };
}

function issuesOf(values: Values, secretKeys = new Set<string>()): ConfigIssue[] {
  try {
    validateConfig({ values, secretKeys }, { project: "gitlab-ha", stack: "lab" });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return [...e.issues];
  }
  return [];
}

/** Every string value of the config with its key path and a setter. */
function stringLeaves(v: unknown, at: string, set: (x: unknown) => void, out: { path: string; set: (x: string) => void; value: string }[] = []) {
  if (typeof v === "string") out.push({ path: at, set, value: v });
  else if (Array.isArray(v)) v.forEach((x, i) => stringLeaves(x, `${at}[${i}]`, (y) => (v[i] = y), out));
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) stringLeaves(x, at ? `${at}.${k}` : k, (y) => ((v as Values)[k] = y), out);
  }
  return out;
}

describe("control characters in config values", () => {
  it("the fixture itself is valid", () => {
    const { values, secretKeys } = fixture();
    assert.deepEqual(issuesOf(values, secretKeys), []);
  });

  const leaves = (() => {
    const { values } = fixture();
    return stringLeaves(values, "", () => undefined).filter((l) => !l.path.startsWith("runnerTokens"));
  })();
  assert.ok(leaves.length > 40, `only ${leaves.length} strings in the fixture`);

  for (const ch of ["\n", "\r", "\u0000", "\u001b", "\u0085"]) {
    it(`refuses ${JSON.stringify(ch)} in every string of the config, with its key path`, () => {
      const missed: string[] = [];
      for (const { path: p } of leaves) {
        const { values, secretKeys } = fixture();
        const leaf = stringLeaves(values, "", () => undefined).find((l) => l.path === p)!;
        leaf.set(`${leaf.value}${ch}x = 1`);
        const issues = issuesOf(values, secretKeys);
        if (!issues.some((i) => i.path === p)) missed.push(`${p} (${JSON.stringify(issues)})`);
      }
      assert.deepEqual(missed, []);
    });
  }

  it("names the control characters for free-form values, and refuses control characters in keys", () => {
    const { values, secretKeys } = fixture();
    (values.gitlab as Values).extraConfig = ["nginx['enable'] = true\npostgresql['enable'] = true"];
    (values.postgres as Values).settings = { "work_mem\nfsync": "off" };
    const issues = issuesOf(values, secretKeys);
    assert.ok(issues.some((i) => i.path === "gitlab.extraConfig[0]" && /no control characters/.test(i.message)), JSON.stringify(issues));
    assert.ok(issues.some((i) => i.path.startsWith("postgres.settings.") && /control characters/.test(i.message)), JSON.stringify(issues));
  });
});

describe("PostgreSQL setting values", () => {
  const withSetting = (v: unknown) => {
    const { values, secretKeys } = fixture();
    (values.postgres as Values).settings = { search_path: v };
    return issuesOf(values, secretKeys);
  };

  it("refuses a quote or a backslash that could end the quoted value and add a setting", () => {
    for (const v of ["x' \nwal_level = 'minimal", "gitlab'", "c:\\", "a\\'b"]) {
      const issues = withSetting(v);
      assert.ok(issues.some((i) => i.path === "postgres.settings.search_path"), `${JSON.stringify(v)}: ${JSON.stringify(issues)}`);
    }
  });

  it("accepts plain strings, numbers and booleans", () => {
    assert.deepEqual(withSetting('"$user", public'), []);
    assert.deepEqual(withSetting(64), []);
    assert.deepEqual(withSetting(true), []);
  });
});

describe("lab hosts' SSH ports", () => {
  it("refuses two lab hosts publishing the same SSH port, before anything is created", () => {
    const file = readStackFile(ROOT, "lab");
    const raw = rawConfig(file.config, (k) => file.secretKeys.includes(k));
    const values = structuredClone(raw.values) as Values;
    const hosts = values.hosts as Values[];
    hosts[1] = { ...hosts[1], ssh: { port: 2201 } };
    hosts[3] = { ...hosts[3], ssh: { port: 2201 } };
    const issues = issuesOf(values, new Set(raw.secretKeys));
    assert.ok(issues.some((i) => i.path === "hosts[3].ssh.port" && /already published for hosts\[1\]/.test(i.message)), JSON.stringify(issues));
  });
});

describe("stack and key files", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "config-input-"));
  const stacks: string[] = [];
  after(() => {
    for (const s of stacks) fs.rmSync(path.join(ROOT, `Pulumi.${s}.yaml`), { force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  /** A stack file in the project (the render CLI reads stacks there), removed after the tests. */
  const stackFile = (text: string) => {
    const name = `cfgtest-${process.pid}-${stacks.length}`;
    stacks.push(name);
    fs.writeFileSync(path.join(ROOT, `Pulumi.${name}.yaml`), text);
    return name;
  };
  const render = (stack: string) =>
    spawnSync(process.execPath, [path.join(ROOT, "dist/components/offline/render-cli.js"), "--stack", stack, "--out", path.join(tmp, stack)], { cwd: ROOT, encoding: "utf8" });
  const labWithKey = (key: string) => fs.readFileSync(path.join(ROOT, "Pulumi.lab.yaml"), "utf8").replace("privateKeyFile: .lab/ssh/id_ed25519", `privateKeyFile: ${key}`);
  const noStackTrace = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, `stack trace printed:\n${stderr}`);

  it("a YAML syntax error names the stack file and the line", () => {
    const stack = stackFile("config:\n  gitlab-ha:ssh:\n    user: root\n    user: admin\n");
    assert.throws(() => readStackFile(ROOT, stack), (e: unknown) => {
      assert.ok(e instanceof StackFileError && e instanceof ConfigError);
      assert.match(e.message, new RegExp(`Pulumi\\.${stack}\\.yaml:4:5: invalid YAML: Map keys must be unique`));
      return true;
    });
    const r = render(stack);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`render: Pulumi\\.${stack}\\.yaml:4:5: invalid YAML`));
    noStackTrace(r.stderr);
  });

  it("a stack file whose config is not a mapping is a config error", () => {
    const stack = stackFile("config: [1, 2]\n");
    assert.throws(() => readStackFile(ROOT, stack), /expected `config:` to be a mapping/);
  });

  it("an unreadable key file is a config error naming ssh.privateKeyFile", () => {
    const dir = path.join(tmp, "a-directory");
    fs.mkdirSync(dir);
    const r = render(stackFile(labWithKey(dir)));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ssh\.privateKeyFile: cannot read .*a-directory: EISDIR/);
    noStackTrace(r.stderr);
  });

  it("a file that is not a private key is a config error naming ssh.privateKeyFile", () => {
    const pub = path.join(tmp, "id_ed25519.pub");
    fs.writeFileSync(pub, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBv4 user@host\n");
    const r = render(stackFile(labWithKey(pub)));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ssh\.privateKeyFile: .*id_ed25519\.pub is not a private key/);
    noStackTrace(r.stderr);
  });

  it("recognises real private keys made by ssh-keygen", () => {
    for (const [type, format] of [["ed25519", "RFC4716"], ["rsa", "PEM"], ["ecdsa", "PKCS8"]] as const) {
      const key = path.join(tmp, `k-${type}`);
      const made = spawnSync("ssh-keygen", ["-q", "-t", type, "-m", format, "-N", "", "-f", key]);
      assert.equal(made.status, 0, String(made.stderr));
      assert.ok(isPrivateKey(fs.readFileSync(key, "utf8")), type);
      assert.ok(!isPrivateKey(fs.readFileSync(`${key}.pub`, "utf8")), `${type}.pub`);
    }
  });

  it("config errors are Pulumi RunErrors: the CLI prints them without a stack", () => {
    assert.ok(pulumi.RunError.isInstance(new ConfigError([{ path: "x", message: "y" }])));
  });
});
