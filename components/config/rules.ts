// Rules that span several keys. They read the raw input defensively (it may also have type errors)
// so that one validation run reports every problem, not only the first layer of them.
import { isIP } from "node:net";
import { OS_IDS, OsId, PLATFORMS } from "./platforms";
import { extensionsFor, minPostgresFor, parseVersion, upgradePath, VERSION_PATTERN } from "../gitlab/upgrade";
import { postgresForGitlabIssues } from "../postgres/checks";

export interface ConfigIssue {
  /** Key path as `pulumi config set --path` spells it, e.g. `hosts[1].address`. */
  readonly path: string;
  readonly message: string;
}

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Raw) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** Settings the program itself manages; overriding them through postgres.settings would fight it. */
const MANAGED_PG_SETTINGS: Record<string, string> = {
  listen_addresses: "postgres.listenAddresses",
  port: "postgres.port",
  wal_level: "(always replica)",
  hot_standby: "(always on)",
  max_wal_senders: "postgres.maxWalSenders",
  max_replication_slots: "postgres.maxReplicationSlots",
  max_slot_wal_keep_size: "postgres.maxSlotWalKeepSize",
  password_encryption: "(always scram-sha-256)",
  wal_log_hints: "(always on: prepared for pg_rewind)",
  data_directory: "postgres.dataDirectory",
  hba_file: "(managed pg_hba.conf)",
  primary_conninfo: "(written by pg_basebackup -R)",
  primary_slot_name: "(written by pg_basebackup -R)",
  synchronous_standby_names: "postgres.synchronous.enabled",
  synchronous_commit: "postgres.synchronous.commit",
};

export function crossKeyIssues(input: Raw, secretsPresent: ReadonlySet<string>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  const hosts = arr(input.hosts).map((h, i) => ({ i, h: obj(h) ?? {} }));
  const pg = obj(input.postgres) ?? {};
  const hostsWith = (role: string) => hosts.filter(({ h }) => rolesOf(h).includes(role));

  // Unique names, addresses and SSH endpoints.
  const seen = new Map<string, string>();
  const unique = (kind: string, value: string | undefined, path: string) => {
    if (value === undefined) return;
    const first = seen.get(`${kind}\0${value}`);
    if (first) add(path, `duplicate ${kind} '${value}': already used by ${first}`);
    else seen.set(`${kind}\0${value}`, path);
  };
  const sshDefaults = obj(input.ssh) ?? {};
  for (const { i, h } of hosts) {
    unique("host name", str(h.name), `hosts[${i}].name`);
    unique("address", str(h.address), `hosts[${i}].address`);
    const ssh = obj(h.ssh) ?? {};
    const endpoint = `${str(ssh.host) ?? str(h.address)}:${ssh.port ?? sshDefaults.port ?? 22}`;
    unique("SSH endpoint", endpoint, `hosts[${i}].ssh`);
    rolesOf(h).forEach((r, j) => {
      if (rolesOf(h).indexOf(r) !== j) add(`hosts[${i}].roles[${j}]`, `role '${r}' is listed twice`);
    });
  }

  // Database topology: one primary; standbys and GitLab hosts need it.
  const primaries = hostsWith("postgres-primary");
  primaries.slice(1).forEach(({ i }) =>
    add(`hosts[${i}].roles`, `only one host may have role postgres-primary; hosts[${primaries[0]!.i}] already has it`),
  );
  for (const { i, h } of hostsWith("postgres-standby")) {
    if (rolesOf(h).includes("postgres-primary")) add(`hosts[${i}].roles`, "a host cannot be both postgres-primary and postgres-standby");
    else if (primaries.length === 0) add(`hosts[${i}].roles`, "a postgres-standby needs a host with role postgres-primary to replicate from");
  }
  for (const { i } of hostsWith("gitlab")) {
    if (primaries.length === 0) add(`hosts[${i}].roles`, "a gitlab host needs a host with role postgres-primary (its external database)");
  }

  // Synchronous replication without a standby would make every commit wait forever.
  if (obj(pg.synchronous)?.enabled === true && hostsWith("postgres-standby").length === 0) {
    add("postgres.synchronous.enabled", "synchronous replication needs a host with role postgres-standby: without one every commit on the primary waits forever");
  }

  // Host references elsewhere must name declared hosts with the right role.
  const byName = new Map(hosts.map(({ h }) => [str(h.name), h] as const));
  for (const name of Object.keys(obj(pg.rebuildStandbys) ?? {})) {
    const h = byName.get(name);
    if (!h) add(`postgres.rebuildStandbys.${name}`, `names host '${name}', which is not declared in hosts`);
    else if (!rolesOf(h).includes("postgres-standby")) add(`postgres.rebuildStandbys.${name}`, `host '${name}' does not have role postgres-standby`);
  }

  // The PostgreSQL version must be installable on every database host.
  const version = typeof pg.version === "number" ? pg.version : 16;
  const source = pg.packageSource === "distribution" ? "distribution" : "pgdg";
  for (const { i, h } of hosts) {
    if (!rolesOf(h).some((r) => r.startsWith("postgres-"))) continue;
    const os = (str(h.os) ?? "debian-12") as OsId;
    if (!OS_IDS.includes(os)) continue; // reported by the schema
    const available: readonly number[] = PLATFORMS[os].postgres[source];
    if (!available.includes(version)) {
      add(
        "postgres.version",
        `PostgreSQL ${version} cannot be installed from ${source} on hosts[${i}] (${os}); ` +
          (available.length ? `available there: ${available.join(", ")}` : `use packageSource 'pgdg' on ${os}`),
      );
    }
  }

  for (const key of Object.keys(obj(pg.settings) ?? {})) {
    const owner = MANAGED_PG_SETTINGS[key];
    if (owner) add(`postgres.settings.${key}`, `'${key}' is managed by the program: ${owner}`);
  }

  // Exactly one way to authenticate SSH.
  const ways = [
    secretsPresent.has("sshPrivateKey") && "the secret sshPrivateKey",
    str(sshDefaults.privateKeyFile) && "ssh.privateKeyFile",
    sshDefaults.agent === true && "ssh.agent",
  ].filter(Boolean);
  if (ways.length !== 1) {
    add("ssh", ways.length === 0
      ? "expected one SSH credential: the secret sshPrivateKey, ssh.privateKeyFile or ssh.agent: true"
      : `expected one SSH credential, got ${ways.join(" and ")}`);
  }

  postgresForGitlabIssues(input, add);
  drbdIssues(input, hosts, add);
  gitlabVersionIssues(input, hosts, add);
  runnerIssues(input, hosts, add);
  gitlabContainerIssues(input, hosts, add);
  portIssues(input, hosts, add);
  backupIssues(input, hosts, add);
  const fw = obj(input.firewall) ?? {};
  if (fw.enabled !== false && arr(fw.adminNetworks).length === 0) {
    add("firewall.adminNetworks", "expected at least one network: SSH (and Pulumi itself) is allowed only from these; set firewall.enabled: false to manage no firewall");
  }
  // Both IP families are filtered: admin networks of one family only (e.g. just ::/0) would cut
  // SSH to every host reached over the other.
  const adminFamilies = new Set(arr(fw.adminNetworks).map((n) => isIP(String(n).split("/")[0] ?? "")));
  if (fw.enabled !== false && adminFamilies.size > 0) {
    const reported = new Set<number>();
    for (const { i, h } of hosts) {
      const endpoint = str(obj(h.ssh)?.host) ?? str(h.address) ?? "";
      const family = isIP(endpoint);
      if (family !== 0 && !adminFamilies.has(family) && !reported.has(family)) {
        reported.add(family);
        add("firewall.adminNetworks", `expected an IPv${family} network too: hosts[${i}] is reached over SSH at ${endpoint}, which the firewall would refuse`);
      }
    }
  }

  const lab = obj(input.lab);
  if (lab && Object.keys(lab).length > 0) {
    if (sshDefaults.agent === true) add("ssh.agent", "a lab stack authorises its own key on the hosts it creates: use ssh.privateKeyFile or the secret sshPrivateKey");
    labIssues(lab, hosts, add);
  }
  return issues;
}

const rolesOf = (h: Raw) => arr(h.roles).filter((r): r is string => typeof r === "string");
const isEmpty = (v: unknown) => !obj(v) || Object.keys(obj(v)!).length === 0;

function drbdIssues(input: Raw, hosts: { i: number; h: Raw }[], add: (p: string, m: string) => void) {
  const drbd = isEmpty(input.drbd) ? undefined : obj(input.drbd)!;
  const data = hosts.filter(({ h }) => rolesOf(h).includes("drbd"));
  const tiebreakers = hosts.filter(({ h }) => rolesOf(h).includes("drbd-tiebreaker"));
  const nodes = [...data, ...tiebreakers];
  if (!drbd) {
    if (nodes.length) add("drbd", `hosts[${nodes[0]!.i}] has a DRBD role: expected the drbd section (resource, initialPrimary, ...)`);
    return;
  }
  if (data.length === 0) add("drbd", "expected hosts with role drbd for the drbd section");
  const ids = new Map<number, number>();
  for (const { i, h } of nodes) {
    const node = obj(h.drbd);
    const isData = rolesOf(h).includes("drbd");
    if (isData && rolesOf(h).includes("drbd-tiebreaker")) add(`hosts[${i}].roles`, "a host cannot be both drbd and drbd-tiebreaker");
    if (!node) {
      add(`hosts[${i}].drbd`, "expected { nodeId" + (isData ? ", disk }" : " }") + " for a DRBD node");
      continue;
    }
    if (typeof node.nodeId === "number") {
      const first = ids.get(node.nodeId);
      if (first !== undefined) add(`hosts[${i}].drbd.nodeId`, `duplicate node id ${node.nodeId}: already used by hosts[${first}]`);
      else ids.set(node.nodeId, i);
    }
    if (isData && node.disk === undefined) add(`hosts[${i}].drbd.disk`, "expected the backing disk of this data node, like /dev/vdb1");
    if (!isData && node.disk !== undefined) add(`hosts[${i}].drbd.disk`, "a tiebreaker is diskless: remove disk");
  }
  for (const { i, h } of hosts) {
    if (h.drbd !== undefined && !rolesOf(h).some((r) => r.startsWith("drbd"))) add(`hosts[${i}].drbd`, "only hosts with role drbd or drbd-tiebreaker take part in DRBD");
  }
  const primary = str(drbd.initialPrimary);
  if (primary !== undefined && !data.some(({ h }) => h.name === primary)) {
    add("drbd.initialPrimary", hosts.some(({ h }) => h.name === primary) ? `host '${primary}' does not have role drbd` : `names host '${primary}', which is not declared in hosts`);
  }
  // The runbook's incident: two data nodes that lose each other both become primary.
  const quorum = drbd.quorum !== "off";
  const safe = quorum && data.length + tiebreakers.length >= 3;
  if (data.length >= 2 && !safe && drbd.acknowledgeSplitBrainRisk === undefined) {
    add(
      "drbd",
      quorum
        ? `${data.length} data nodes without a third vote cannot keep quorum through a partition (split brain, as in the runbook's incident): add a host with role drbd-tiebreaker, or set drbd.acknowledgeSplitBrainRisk to who accepted the risk and why`
        : "quorum off with two or more data nodes lets both sides of a partition become primary (the runbook's split brain): set quorum: majority with a drbd-tiebreaker host, or set drbd.acknowledgeSplitBrainRisk to who accepted the risk and why",
    );
  }
}

function gitlabVersionIssues(input: Raw, hosts: { i: number; h: Raw }[], add: (p: string, m: string) => void) {
  const gitlab = obj(input.gitlab) ?? {};
  const pg = obj(input.postgres) ?? {};
  const version = str(gitlab.version);
  const ok = (v: string | undefined): v is string => v !== undefined && VERSION_PATTERN.test(v);
  const first = hosts.find(({ h }) => rolesOf(h).includes("gitlab"));
  if (first && gitlab.externalUrl === undefined) add("gitlab.externalUrl", `hosts[${first.i}] has role gitlab: expected external_url, like https://gitlab.example.com`);
  const ssh = obj(input.ssh) ?? {};
  if (first && isEmpty(input.lab) && ssh.agent !== true && str(ssh.privateKeyFile) === undefined) {
    add("ssh", "GitLab containers are managed through each node's Docker engine over ssh://, which uses the local ssh client: set ssh.agent or ssh.privateKeyFile");
  }
  if (version === undefined) {
    if (first) add("gitlab.version", `hosts[${first.i}] has role gitlab: expected the GitLab version to run, like 17.11.7`);
    return;
  }
  if (!ok(version)) return; // reported by the schema
  const running = str(gitlab.runningVersion);
  if (ok(running)) {
    const path = upgradePath(running, version);
    const [a, b] = [parseVersion(running), parseVersion(version)];
    if (a[0] > b[0] || (a[0] === b[0] && (a[1] > b[1] || (a[1] === b[1] && a[2] > b[2])))) {
      add("gitlab.version", `${version} is older than the running ${running}: GitLab cannot be downgraded (restore a backup of the same version instead)`);
    } else if (path.length > 1) {
      add(
        "gitlab.version",
        `${running} -> ${version} skips required upgrade stops; follow ${[running, ...path].join(" -> ")}, ` +
          `one converge per version (set gitlab.version to ${path[0]} first) and let background migrations finish in between`,
      );
    }
  }
  const minPg = minPostgresFor(version);
  const pgVersion = typeof pg.version === "number" ? pg.version : 16;
  if (minPg !== undefined && pgVersion < minPg) add("postgres.version", `GitLab ${version} needs PostgreSQL ${minPg} or later, config has ${pgVersion}`);
  const have = arr(pg.extensions ?? ["pg_trgm", "btree_gist", "plpgsql"]).filter((x): x is string => typeof x === "string");
  const missing = extensionsFor(version).filter((e) => !have.includes(e));
  if (missing.length) add("postgres.extensions", `GitLab ${version} needs the extension(s) ${missing.join(", ")}: add them (created before GitLab upgrades)`);
}

function runnerIssues(input: Raw, hosts: { i: number; h: Raw }[], add: (p: string, m: string) => void) {
  const runnersCfg = obj(input.runners) ?? {};
  const runners = arr(runnersCfg.runners);
  const byName = new Map(hosts.map(({ h }) => [str(h.name), h] as const));
  const seen = new Map<string, number>();
  const externalUrl = str(obj(input.gitlab)?.externalUrl);
  runners.forEach((raw, i) => {
    const r = obj(raw) ?? {};
    const name = str(r.name);
    if (name !== undefined) {
      if (seen.has(name)) add(`runners.runners[${i}].name`, `duplicate runner name '${name}': already used by runners.runners[${seen.get(name)}]`);
      else seen.set(name, i);
    }
    const host = str(r.host);
    if (host !== undefined) {
      const h = byName.get(host);
      if (!h) add(`runners.runners[${i}].host`, `names host '${host}', which is not declared in hosts`);
      else if (!rolesOf(h).includes("runner")) add(`runners.runners[${i}].host`, `host '${host}' does not have role runner`);
    }
    if (r.url === undefined && externalUrl === undefined) add(`runners.runners[${i}].url`, "expected the GitLab URL (or set gitlab.externalUrl)");
    // gitlab-runner's docker executor fails every job without [runners.docker] ("missing docker
    // configuration": executors/docker/docker.go); the shell executor never reads it.
    if (r.executor === "docker" && r.docker === undefined) add(`runners.runners[${i}].docker`, "expected a docker block with an image (docker: { image: ... }) for executor docker");
    if (r.executor === "shell" && r.docker !== undefined) add(`runners.runners[${i}].docker`, "only used by executor docker; this runner's executor is shell");
    // The global `concurrent` caps both (gitlab-runner commands/register.go warns of the same).
    const concurrent = typeof runnersCfg.concurrent === "number" ? runnersCfg.concurrent : 4;
    for (const key of ["limit", "requestConcurrency"] as const) {
      if (typeof r[key] === "number" && r[key] > concurrent) add(`runners.runners[${i}].${key}`, `expected at most runners.concurrent (${concurrent}): the global limit takes precedence`);
    }
  });
  const shutdownTimeout = typeof runnersCfg.shutdownTimeout === "number" ? runnersCfg.shutdownTimeout : 30;
  const stopTimeout = typeof runnersCfg.stopTimeout === "number" ? runnersCfg.stopTimeout : 3600;
  if (stopTimeout < shutdownTimeout) add("runners.stopTimeout", `expected at least runners.shutdownTimeout (${shutdownTimeout}): Docker would kill the runner before its own shutdown ends`);
  if (runners.length && runnersCfg.version === undefined && str(obj(input.gitlab)?.version) === undefined) {
    add("runners.version", "expected the gitlab-runner version, like 17.11.0 (it defaults to gitlab.version's major.minor, which is unset)");
  }
}

/** The GitLab container's data location and HTTPS choice. */
function gitlabContainerIssues(input: Raw, hosts: { i: number; h: Raw }[], add: (p: string, m: string) => void) {
  const externalUrl = str(obj(input.gitlab)?.externalUrl);
  // On a DRBD node the container's data must be on the volume (it is bind-mounted from there and
  // must not exist where the volume is not mounted); lab engines keep it on the lab machine.
  const volumeRoot = str(obj(input.gitlab)?.volumeRoot);
  const mountPoint = str(obj(input.drbd)?.mountPoint) ?? "/vdb";
  if (volumeRoot !== undefined && isEmpty(input.lab) && hosts.some(({ h }) => rolesOf(h).includes("gitlab") && rolesOf(h).includes("drbd")) && !volumeRoot.startsWith(`${mountPoint}/`)) {
    add("gitlab.volumeRoot", `GitLab nodes with role drbd keep GitLab's data on the volume: expected a path under drbd.mountPoint (${mountPoint}/)`);
  }
  // Two GitLab nodes each with their own /etc/gitlab would each generate a gitlab-secrets.json the
  // other cannot decrypt with, both run migrations (omnibus-gitlab files/gitlab-cookbooks/gitlab/attributes/default.rb:
  // gitlab_rails['auto_migrate'] = true) and split the repositories: only nodes sharing the DRBD
  // volume, GitLab running where it is mounted, may be several.
  const gitlabNodes = hosts.filter(({ h }) => rolesOf(h).includes("gitlab"));
  if (gitlabNodes.length > 1) {
    for (const { i, h } of gitlabNodes.filter(({ h }) => !rolesOf(h).includes("drbd"))) {
      add(
        `hosts[${i}].roles`,
        `${gitlabNodes.length} hosts have role gitlab, but '${str(h.name) ?? "?"}' does not share the DRBD volume (role drbd): separate nodes would each generate their own gitlab-secrets.json, both run migrations and split the repositories; give every gitlab host role drbd, or keep one gitlab host`,
      );
    }
  }
  const tls = obj(obj(input.gitlab)?.tls) ?? {};
  if (tls.letsEncrypt === true && externalUrl !== undefined && !externalUrl.startsWith("https:")) {
    add("gitlab.tls.letsEncrypt", "Let's Encrypt needs an https:// gitlab.externalUrl");
  }
}

/**
 * The runner tokens secret (JSON: name -> { token } or { registrationToken }): every runner has
 * exactly one, and nothing else is in it. Checked when the value is known (preview and up).
 */
export function runnerTokenIssues(input: Raw, tokensJson: string | undefined): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const names = arr(obj(input.runners)?.runners).map((r) => str(obj(r)?.name)).filter((n): n is string => n !== undefined);
  if (tokensJson === undefined) {
    for (const n of names) issues.push({ path: "runnerTokens", message: `runner '${n}' has neither token: pulumi config set --secret runnerTokens '{"${n}": {"token": "glrt-..."}}'` });
    return issues;
  }
  let tokens: Raw;
  try {
    tokens = obj(JSON.parse(tokensJson)) ?? {};
  } catch {
    return [{ path: "runnerTokens", message: "expected a JSON object: runner name to { token } or { registrationToken }" }];
  }
  for (const n of names) {
    const t = obj(tokens[n]);
    const kinds = t ? ["token", "registrationToken"].filter((k) => typeof t[k] === "string" && (t[k] as string).length > 0) : [];
    if (kinds.length !== 1) issues.push({ path: `runnerTokens.${n}`, message: kinds.length ? "expected one of token and registrationToken, not both" : `runner '${n}' has neither token nor registrationToken` });
    else if (kinds[0] === "token" && !String(t!.token).startsWith("glrt-")) issues.push({ path: `runnerTokens.${n}.token`, message: "expected a runner authentication token (glrt-...); use registrationToken for the legacy flow" });
    else if (kinds[0] === "registrationToken" && registrationTokensOff(input, n)) {
      issues.push({
        path: `runnerTokens.${n}.registrationToken`,
        message: `GitLab ${str(obj(input.gitlab)?.version)} has runner registration tokens disabled by default (since 17.0): create the runner in GitLab and use its token (glrt-...), or set runners.allowRunnerRegistrationToken: true once the instance has re-enabled them`,
      });
    }
    // Tokens land in config.toml and in request bodies: plain characters only.
    for (const k of kinds) if (!/^[A-Za-z0-9._-]+$/.test(String(t![k]))) issues.push({ path: `runnerTokens.${n}.${k}`, message: "expected a token of letters, digits, '.', '_' and '-'" });
  }
  for (const k of Object.keys(tokens)) if (!names.includes(k)) issues.push({ path: `runnerTokens.${k}`, message: `no runner named '${k}' in runners.runners` });
  return issues;
}

/**
 * GitLab 17.0 turned registration tokens off by default (gitlab-org/gitlab!150648,
 * allow_runner_registration_token): true for a runner of this stack's GitLab (its URL unset or the
 * external_url's origin) at 17.0 or later, unless runners.allowRunnerRegistrationToken says the
 * instance re-enabled them.
 */
function registrationTokensOff(input: Raw, runner: string): boolean {
  const gitlab = obj(input.gitlab) ?? {};
  const version = str(gitlab.version);
  if (version === undefined || !VERSION_PATTERN.test(version) || parseVersion(version)[0] < 17) return false;
  if (obj(input.runners)?.allowRunnerRegistrationToken === true) return false;
  const r = arr(obj(input.runners)?.runners).map(obj).find((x) => x?.name === runner) ?? {};
  const origin = (u: unknown) => { try { return new URL(String(u)).origin; } catch { return undefined; } };
  return r.url === undefined || origin(r.url) === origin(gitlab.externalUrl);
}

/** Every port a host serves, by the key that asks for it; two keys may not claim one port. */
function portIssues(input: Raw, hosts: { i: number; h: Raw }[], add: (p: string, m: string) => void) {
  const pg = obj(input.postgres) ?? {};
  const drbd = obj(input.drbd) ?? {};
  const failover = obj(input.failover) ?? {};
  const sentinel = obj(failover.sentinel) ?? {};
  const gitlabPorts = obj(obj(input.gitlab)?.ports) ?? {};
  const lab = !isEmpty(input.lab);
  const ssh = obj(input.ssh) ?? {};
  const num = (v: unknown, d: number) => (typeof v === "number" ? v : d);
  for (const { i, h } of hosts) {
    const roles = rolesOf(h);
    const claims: [number, string][] = [];
    // Inside a lab container sshd listens on 22; the configured port is the published one.
    claims.push([lab ? 22 : num(obj(h.ssh)?.port, num(ssh.port, 22)), obj(h.ssh)?.port !== undefined && !lab ? `hosts[${i}].ssh.port` : "ssh.port"]);
    if (roles.some((r) => r.startsWith("postgres-"))) claims.push([num(pg.port, 5432), "postgres.port"]);
    if (roles.some((r) => r.startsWith("drbd"))) claims.push([num(drbd.port, 7789), "drbd.port"]);
    if (roles.includes("drbd") && failover.engine !== "drbd-reactor") claims.push([num(sentinel.port, 7980), "failover.sentinel.port"]);
    if (roles.includes("gitlab")) {
      claims.push([num(gitlabPorts.http, 80), "gitlab.ports.http"], [num(gitlabPorts.https, 443), "gitlab.ports.https"], [num(gitlabPorts.ssh, 2222), "gitlab.ports.ssh"]);
    }
    const seen = new Map<number, string>();
    for (const [port, key] of claims) {
      const other = seen.get(port);
      const where = `port ${port} on hosts[${i}] (${str(h.name) ?? "?"})`;
      if (other) {
        add(key, `${where} is already used by ${other}`);
        add(other, `${where} is also claimed by ${key}`);
      } else seen.set(port, key);
    }
  }
}

/** Where GitLab's backups are written, and what the copy to another host can take. */
function backupIssues(input: Raw, hosts: { i: number; h: Raw }[], add: (p: string, m: string) => void) {
  const gitlab = obj(input.gitlab) ?? {};
  const b = obj(gitlab.backup) ?? {};
  const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir.replace(/\/+$/, "")}/`);
  const archives = str(b.path);
  // Only /etc/gitlab, /var/opt/gitlab and /var/log/gitlab of the container are host volumes.
  if (archives !== undefined && !under(archives, "/var/opt/gitlab")) {
    add("gitlab.backup.path", "expected a directory under /var/opt/gitlab, the container's data volume: elsewhere the archives stay inside the container and are lost with it");
  }
  const configDir = str(b.configDirectory) ?? "/var/backups/gitlab-ha/config";
  const drbd = obj(input.drbd);
  const onDrbd = hosts.some(({ h }) => rolesOf(h).includes("gitlab") && rolesOf(h).includes("drbd"));
  const mountPoint = str(drbd?.mountPoint) ?? "/vdb";
  if (onDrbd && !isEmpty(input.drbd) && under(configDir, mountPoint)) {
    add("gitlab.backup.configDirectory", `${configDir} is on the DRBD volume (${mountPoint}): the /etc/gitlab archives must survive the volume, keep them on the node's own disk`);
  }
  // GitLab: not "in the same place as your application data backup" (omnibus doc/settings/backups.md).
  const volumeRoot = str(gitlab.volumeRoot);
  if (volumeRoot !== undefined && under(configDir, volumeRoot)) {
    add("gitlab.backup.configDirectory", `${configDir} is inside gitlab.volumeRoot (${volumeRoot}): keep the /etc/gitlab archives apart from GitLab's data`);
  }
  if (obj(b.rsync) && arr(b.skip).includes("tar")) {
    add("gitlab.backup.skip", "SKIP=tar makes no archive, so gitlab.backup.rsync would have nothing consistent to copy: remove 'tar'");
  }
}

function labIssues(lab: Raw, hosts: { i: number; h: Raw }[], add: (p: string, m: string) => void) {
  const net = obj(lab.network) ?? {};
  const subnet = str(net.subnet);
  const bind = str(lab.sshBindAddress) ?? "127.0.0.1";
  // Every lab host's sshd is published on the one bind address: a port can be published once.
  const published = new Map<number, number>();
  for (const { i, h } of hosts) {
    const ssh = obj(h.ssh) ?? {};
    if (typeof ssh.port !== "number") add(`hosts[${i}].ssh.port`, "expected the host's published SSH port: lab hosts are containers reached on sshBindAddress");
    else if (published.has(ssh.port)) add(`hosts[${i}].ssh.port`, `port ${ssh.port} is already published for hosts[${published.get(ssh.port)}] on ${bind}: lab hosts need distinct SSH ports`);
    else published.set(ssh.port, i);
    if (ssh.host !== undefined && ssh.host !== bind) add(`hosts[${i}].ssh.host`, `lab hosts are reached on lab.sshBindAddress (${bind}); leave ssh.host unset`);
    const address = str(h.address);
    if (subnet && address && isIP(address) === 4 && !inSubnet(address, subnet)) {
      add(`hosts[${i}].address`, `expected an address inside lab.network.subnet ${subnet}`);
    }
  }
}

function inSubnet(address: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split("/");
  const bits = Number(bitsText);
  if (isIP(net ?? "") !== 4) return false;
  const toInt = (a: string) => a.split(".").reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (toInt(address) & mask) === (toInt(net!) & mask);
}

