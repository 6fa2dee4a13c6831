// GitLab on the external database: the Omnibus config checked by Ruby itself, the containers the
// program declares, and the upgrade data.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { SECRET } from "../../components/offline/evaluate";
import { renderOmnibusConfig } from "../../components/gitlab/omnibus";
import { extensionsFor, minPostgresFor, upgradePath } from "../../components/gitlab/upgrade";
import { byName, evaluateStack, gitlabRbOf, rubySettings, stackConfigOf } from "../helpers";

const omnibusOf = gitlabRbOf;

describe("GitLab Omnibus config", () => {
  it("is valid Ruby (ruby -c) for every stack, escape hatch included", async () => {
    for (const [stack, overrides] of [["prod", {}], ["lab", {}], ["prod", { gitlab: { version: "18.5.2", externalUrl: "https://g.example.com", extraConfig: ["gitlab_rails['time_zone'] = 'UTC'"] } }]] as const) {
      const e = await evaluateStack(stack, { overrides: { ...overrides, ...(stack === "prod" && "gitlab" in overrides ? { postgres: { version: 16, extensions: ["pg_trgm", "btree_gist", "plpgsql", "amcheck"] } } : {}) } });
      const steps = e.resources.filter((x) => /^gitlab-.*-config$/.test(x.name));
      assert.ok(steps.length > 0, `${stack}: no gitlab.rb steps`);
      for (const r of steps) {
        const rb = String(r.values.stdin);
        assert.match(execFileSync("ruby", ["-c"], { input: rb, encoding: "utf8" }), /Syntax OK/);
      }
    }
  });

  it("points every db_* key at the primary and reads the password from a file", async () => {
    const e = await evaluateStack("prod");
    const s = rubySettings(omnibusOf(e, "10-228-130-58"), { "/etc/gitlab-ha/db_password": "from-the-file\n" });
    assert.equal(s.external_url, "https://gitlab.example.com");
    assert.deepEqual(s.postgresql, { enable: false, version: 16 });
    const rails = s.gitlab_rails as Record<string, unknown>;
    assert.deepEqual(
      { ...rails },
      {
        db_adapter: "postgresql", db_encoding: "unicode", db_host: "10.228.129.11", db_port: 5432, db_database: "gitlabhq_production",
        db_username: "gitlab", db_password: "from-the-file", gitlab_shell_ssh_port: 2222, backup_path: "/var/opt/gitlab/backups",
        backup_keep_time: 604800, backup_archive_permissions: 0o600,
      },
    );
  });

  it("quotes what it interpolates", () => {
    const rb = renderOmnibusConfig({
      externalUrl: "https://x.example.com/it's",
      db: { host: "h", port: 1, database: "d", username: "u" },
      dbPasswordFile: "/p",
      sshPort: 22,
      backup: { path: "/b", keepTime: 1, archivePermissions: "0600" },
      extra: [],
    });
    assert.equal(rubySettings(rb, { "/p": "x" }).external_url, "https://x.example.com/it's");
  });
});

describe("GitLab containers", () => {
  it("run the configured image on each node's engine, created but started by the failover engine on DRBD nodes", async () => {
    const e = await evaluateStack("prod");
    const c = byName(e, "gitlab-10-228-130-58-container");
    assert.equal(c.values.image, "gitlab/gitlab-ee:18.5.2-ee.0");
    assert.equal(c.values.name, "gitlab");
    assert.equal(c.values.start, false);
    assert.equal(c.values.restart, "no");
    assert.equal(c.values.shmSize, 256);
    assert.equal(c.options.deleteBeforeReplace, true);
    assert.deepEqual(c.values.mounts, [
      { type: "bind", source: "/vdb/gitlab/etc/gitlab", target: "/etc/gitlab" },
      { type: "bind", source: "/vdb/gitlab/var/opt/gitlab", target: "/var/opt/gitlab" },
      { type: "bind", source: "/vdb/gitlab/var/log/gitlab", target: "/var/log/gitlab" },
    ]);
    assert.deepEqual(c.values.ports, [{ internal: 80, external: 80 }, { internal: 443, external: 443 }, { internal: 22, external: 2222 }]);
    assert.deepEqual((c.display.uploads as Record<string, unknown>[])[0], { file: "/etc/gitlab-ha/db_password", content: SECRET, permissions: "0600" });
    assert.equal(c.values.envs, undefined, "no environment: gitlab.rb is a file on the volume, the password a file in the container");
    const engine = byName(e, "gitlab-10-228-130-58-engine");
    assert.equal(engine.values.host, "ssh://root@10.228.130.58:22");
    assert.match(String(byName(e, "gitlab-10-228-130-58-unit").display.content), /ExecStart=\/usr\/bin\/docker start --attach gitlab\n/);
    assert.match(String(byName(e, "failover-10-228-130-58-enable").display.create), /GITLAB_UNIT=gitlab-container\.service/);
  });

  it("use the lab stack's own ports (its slot's, components/lab/slots.ts) and a named stand-in image in the lab", async () => {
    const e = await evaluateStack("lab");
    const c = byName(e, "gitlab-gitlab-container");
    assert.equal(c.values.image, "gitlab-ha-lab/gitlab-stand-in:17.11.7-ce.0");
    const { http, https, ssh } = stackConfigOf("lab").gitlab.ports;
    assert.deepEqual(c.values.ports, [{ internal: 80, external: http }, { internal: 443, external: https }, { internal: 22, external: ssh }]);
    assert.equal(byName(e, "gitlab-gitlab-engine").values.host, "unix:///var/run/docker.sock");
    assert.match(String(byName(e, "lab-gitlab-stand-in").values.create), /docker tag gitlab-ha-lab-host:\w+ gitlab-ha-lab\/gitlab-stand-in:17\.11\.7-ce\.0/);
  });
});

describe("upgrade data", () => {
  it("lists the stops between two versions, with their latest patches", () => {
    assert.deepEqual(upgradePath("12.5.3", "13.3.5"), ["12.10.14", "13.0.14", "13.1.11", "13.3.5"]);
    assert.deepEqual(upgradePath("16.11.10", "17.3.7"), ["17.1.8", "17.3.7"]);
    assert.deepEqual(upgradePath("17.3.7", "17.5.5"), ["17.5.5"]);
  });

  it("knows the PostgreSQL minimum and the extensions of each version", () => {
    assert.equal(minPostgresFor("13.3.5"), 11);
    assert.equal(minPostgresFor("18.5.2"), 16);
    assert.deepEqual(extensionsFor("13.0.14"), ["pg_trgm", "plpgsql"]);
    assert.deepEqual(extensionsFor("18.4.0"), ["pg_trgm", "plpgsql", "btree_gist", "amcheck"]);
  });
});
