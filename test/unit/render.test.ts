// The offline render as reviewers use it: `npm run render -- --stack <name>`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { evaluateProgram, SECRET } from "../../components/offline/evaluate";
import { renderStack } from "../../components/offline/render";
import { renderToMap } from "../../components/offline/render-cli";
import { readStackFile } from "../../components/offline/stack-file";
import { ROOT } from "../helpers";

const CLI = path.join(ROOT, "dist", "components", "offline", "render-cli.js");
const renderCli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8" });

describe("offline render", () => {
  it("is byte-identical for the same input", async () => {
    for (const stack of ["lab", "prod"]) {
      const a = await renderToMap(stack);
      const b = await renderToMap(stack);
      assert.deepEqual([...a.keys()], [...b.keys()]);
      for (const [k, v] of a) assert.equal(b.get(k), v, `${stack}: ${k} differs`);
    }
  });

  it("writes resources, outputs, and each host's files and commands", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
    const r = renderCli("--stack", "prod", "--out", out);
    assert.equal(r.status, 0, r.stderr);
    const read = (p: string) => fs.readFileSync(path.join(out, p), "utf8");
    assert.match(read("resources.yaml"), /type: gitlab-ha:postgres:Primary\n\s+name: postgres-pgsql/);
    assert.match(read("hosts/pgsql/files/var/lib/pgsql/16/data/pg_hba.conf"), /host\s+all\s+gitlab\s+10\.228\.130\.58\/32\s+scram-sha-256/);
    assert.equal(read("hosts/pgsq2/files/var/lib/pgsql/.pgpass"), `${SECRET}\n`);
    const commands = read("hosts/pgsq2/commands.sh");
    const order = ["postgres-pgsq2-install", "postgres-pgsq2-pgpass-write", "postgres-pgsq2-basebackup", "postgres-pgsq2-service"].map((n) =>
      commands.indexOf(`] ${n}\n`),
    );
    assert.ok(order.every((i, k) => i > 0 && (k === 0 || i > order[k - 1]!)), `commands out of order: ${order}`);
    assert.match(read("outputs.yaml"), /password: "\[secret\]"/);
    assert.match(read("hosts/10-228-130-58/commands.sh"), /\] drbd-10-228-130-58-init\n/);
    assert.match(read("hosts/drbd-witness/files/etc/drbd.d/gitlab.res"), /on drbd-witness \{\n    node-id 2;\n    address 10\.228\.131\.10:7789;\n    volume 0 \{\n      device minor 0;\n      disk none;/);
  });

  it("shows no secret value anywhere, even when the secrets are known", async () => {
    const file = readStackFile(ROOT, "lab");
    const secrets = {
      "gitlab-ha:postgresGitlabPassword": "gitlab-Secret-31337",
      "gitlab-ha:postgresReplicationPassword": "repl-Secret-27182",
    };
    const evaluation = await evaluateProgram({
      ...file,
      config: { ...file.config, ...secrets },
      secretKeys: [...file.secretKeys, ...Object.keys(secrets)],
      projectDir: ROOT,
      preview: true,
    });
    const files = renderStack(evaluation);
    const keyFile = path.join(ROOT, ".lab", "ssh", "id_ed25519");
    const key = fs.existsSync(keyFile) ? [fs.readFileSync(keyFile, "utf8").split("\n")[1]!] : [];
    for (const [name, content] of files) {
      for (const s of [...Object.values(secrets), ...key]) assert.ok(!content.includes(s), `${name} shows a secret`);
    }
  });

  it("refuses an invalid config: non-zero exit, every problem listed, nothing written", () => {
    const stackFile = path.join(ROOT, "Pulumi.render-invalid-test.yaml");
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "render-")), "out");
    fs.writeFileSync(
      stackFile,
      [
        "config:",
        "  gitlab-ha:hosts:",
        "    - { name: db1, address: 10.0.0.1, roles: [postgres-standby], colour: red }",
        "    - { name: db1, address: 10.0.0.2, os: el9, roles: [gitlab] }",
        "  gitlab-ha:postgres: { version: 11 }",
        "",
      ].join("\n"),
    );
    try {
      const r = renderCli("--stack", "render-invalid-test", "--out", out);
      assert.notEqual(r.status, 0);
      for (const p of ["hosts[0].colour", "hosts[1].name", "hosts[0].roles", "postgres.version", "ssh"]) assert.ok(r.stderr.includes(`  - ${p}: `), `${p} missing:\n${r.stderr}`);
      assert.ok(!fs.existsSync(out), "an invalid config must write nothing");
    } finally {
      fs.rmSync(stackFile, { force: true });
    }
  });

  it("names a missing stack file", () => {
    const r = renderCli("--stack", "nosuchstack");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no stack file Pulumi\.nosuchstack\.yaml/);
  });
});
