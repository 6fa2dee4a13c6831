// GitLab against the external database on lab hosts. No GitLab image can be had here: the lab's
// GitLab containers use a stand-in image (a tag of the lab host image) and, being on DRBD nodes,
// are created but never started. What is checked for real: the container the program creates,
// the Omnibus config it mounts (gitlab.rb read from its bind source and evaluated by Ruby), the password
// file uploaded into it, and a contract check against the real primary from the GitLab host's
// address with exactly those settings.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { extensionsFor } from "../../components/gitlab/upgrade";
import { run, runOk } from "../../components/offline/run";
import { rubySettings } from "../helpers";
import { address, converge, CONFIG, generated, POSTGRES, resetLab, sh, STACK } from "./bed";

const container = `gitlab-ha-${STACK}-gitlab-gitlab`;
const VERSION = String((CONFIG.gitlab as { version: string }).version);

describe("GitLab on the external database (lab, stand-in image)", { timeout: 600_000 }, () => {
  let settings: Record<string, Record<string, unknown>>;
  let passwordFile: { mode: string; content: string };

  before(async () => {
    await resetLab();
    await converge();
    // gitlab.rb is a file in the container's /etc/gitlab (its bind source under the volume root).
    const omnibus = fs.readFileSync(path.join(String((CONFIG.gitlab as { volumeRoot: string }).volumeRoot), "etc/gitlab/gitlab.rb"), "utf8");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-pw-"));
    await runOk("docker", ["cp", `${container}:/etc/gitlab-ha/db_password`, dir]);
    const file = path.join(dir, "db_password");
    passwordFile = { mode: (fs.statSync(file).mode & 0o777).toString(8), content: fs.readFileSync(file, "utf8") };
    fs.rmSync(dir, { recursive: true, force: true });
    settings = rubySettings(omnibus, { "/etc/gitlab-ha/db_password": passwordFile.content }) as Record<string, Record<string, unknown>>;
  });
  after(async () => {
    if (!process.env.KEEP_LAB) await resetLab();
  });

  it("creates the container with its stand-in image, not started (the failover engine starts it)", async () => {
    const state = (await runOk("docker", ["inspect", container, "--format", "{{.State.Status}} {{.Config.Image}} {{.HostConfig.ShmSize}}"])).stdout.trim();
    assert.equal(state, `created gitlab-ha-lab/gitlab-stand-in:${VERSION}-ce.0 ${256 * 1024 * 1024}`);
    assert.equal(passwordFile.mode, "600");
    assert.equal(passwordFile.content, generated("postgres-gitlab-password"));
    assert.equal((await run("docker", ["inspect", container, "--format", "{{json .Config.Env}}"])).stdout.includes(passwordFile.content), false, "no password in the environment");
  });

  it("bind-mounts GitLab's directories with type bind (Docker refuses a missing source)", async () => {
    const mounts = JSON.parse((await runOk("docker", ["inspect", container, "--format", "{{json .HostConfig.Mounts}}"])).stdout) as { Type: string; Source: string; Target: string }[];
    const root = String((CONFIG.gitlab as { volumeRoot: string }).volumeRoot);
    // The provider keeps mounts as a set (kreuzwerker's schema: TypeSet), so Docker gets them in the set's order.
    const byTarget = (a: string[], b: string[]) => a[2]!.localeCompare(b[2]!);
    assert.deepEqual(mounts.map((m) => [m.Type, m.Source, m.Target]).sort(byTarget), ["/etc/gitlab", "/var/opt/gitlab", "/var/log/gitlab"].map((d) => ["bind", `${root}${d}`, d]).sort(byTarget));
    assert.equal((await runOk("docker", ["inspect", container, "--format", "{{json .HostConfig.Binds}}"])).stdout.trim(), "null", "no -v binds");
  });

  it("passes the database contract from the GitLab host with exactly the rendered settings", async () => {
    const db = settings.gitlab_rails!;
    // postgresql['version'] tells Omnibus which bundled pg_dump the backup uses (gitlab.rb.template).
    assert.deepEqual(settings.postgresql, { enable: false, version: (POSTGRES as { version: number }).version });
    assert.equal(db.db_host, address("pgsql"));
    const conninfo = `host=${String(db.db_host)} port=${String(db.db_port)} dbname=${String(db.db_database)} user=${String(db.db_username)}`;
    const sql = [
      "SELECT current_user;",
      `SELECT count(*) FROM pg_extension WHERE extname IN (${extensionsFor(VERSION).map((x) => `'${x}'`).join(", ")});`,
      "CREATE TABLE gitlab_ha_contract (id bigint PRIMARY KEY); INSERT INTO gitlab_ha_contract VALUES (1); DROP TABLE gitlab_ha_contract;",
      "SELECT 'dropped';",
    ].join("\n");
    // The password goes on stdin; psql reads the SQL from a file made from the second stdin part.
    const out = await sh(
      "gitlab",
      `IFS= read -r PGPASSWORD; export PGPASSWORD; f=$(mktemp); cat > "$f"; psql -X -q -At -v ON_ERROR_STOP=1 -d '${conninfo}' -f "$f"; rm -f "$f"`,
      `${String(db.db_password)}\n${sql}\n`,
    );
    assert.deepEqual(out.split("\n"), ["gitlab", String(extensionsFor(VERSION).length), "dropped"]);
  });

  it("schedules the backups on every GitLab node and archives /etc/gitlab off the volume", async () => {
    for (const host of ["gitlab", "gitlab2"]) {
      for (const t of ["gitlab-backup.timer", "gitlab-config-backup.timer"]) {
        assert.equal(await sh(host, `systemctl is-enabled ${t}; systemctl is-active ${t}`), "enabled\nactive", `${host} ${t}`);
      }
      // Lab hosts run no Docker engine of their own: only that absence may be reported.
      assert.equal(await sh(host, "systemd-analyze verify /etc/systemd/system/gitlab-backup.service /etc/systemd/system/gitlab-config-backup.service /etc/systemd/system/gitlab-backup.timer 2>&1"), "");
    }
    // The backup of the container's data is skipped where the container does not run (here: nowhere),
    // and the unit succeeds (no ExecCondition=, which EL8's systemd 239 lacks).
    await sh("gitlab", "systemctl start gitlab-backup.service");
    assert.match(await sh("gitlab", "journalctl -u gitlab-backup.service --no-pager | tail -5"), /not the active node, nothing to do/);
    assert.equal(await sh("gitlab", "systemctl show -p Result --value gitlab-backup.service"), "success");
    // Stand-in config files where the container's /etc/gitlab lives on this node.
    const etc = `${String(CONFIG.gitlab.volumeRoot)}/etc/gitlab`;
    await sh("gitlab", `mkdir -p ${etc}/ssl && echo "external_url 'x'" > ${etc}/gitlab.rb && echo '{}' > ${etc}/gitlab-secrets.json && echo k > ${etc}/ssh_host_ed25519_key && echo c > ${etc}/ssl/x.crt`);
    await sh("gitlab", "systemctl start gitlab-config-backup.service");
    const listing = await sh("gitlab", "f=$(ls /var/backups/gitlab-ha/config/gitlab-config-*.tar | head -1); stat -c %a \"$f\"; tar -tf \"$f\" | sort");
    assert.equal(listing, "600\n./\n./gitlab-secrets.json\n./gitlab.rb\n./ssh_host_ed25519_key\n./ssl/\n./ssl/x.crt");
  });
});

