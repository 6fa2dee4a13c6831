// Pure renderers for PostgreSQL: configuration files, pg_hba rules, .pgpass and SCRAM verifiers.
import * as crypto from "node:crypto";
import { isIP } from "node:net";
import type { PostgresConfig } from "../config/schema";
import type { SettingValue } from "./sizing";

/** Replication slots created by the program carry this prefix (and only those are ever dropped). */
export const SLOT_PREFIX = "gitlab_ha_";

export function slotName(standbyHost: string): string {
  return SLOT_PREFIX + standbyHost.replace(/-/g, "_");
}

function confValue(v: string | number | boolean): string {
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return v ? "on" : "off";
  return `'${v.replace(/'/g, "''")}'`;
}

/**
 * conf.d/50-gitlab-ha.conf: identical on the primary and every standby, so that a standby's
 * copy of the primary's files (pg_basebackup on EL layouts) is already correct, a promoted
 * standby serves replicas as the primary did, and every setting a hot standby needs no lower than
 * its primary's is equal. `sizing` holds the managed GitLab defaults (sizing.ts);
 * `postgres.settings` overrides them, each setting written once.
 */
export function renderPostgresConf(pg: PostgresConfig, sizing: readonly [string, SettingValue][] = []): string {
  const fixed: [string, SettingValue][] = [
    ["listen_addresses", pg.listenAddresses.join(",")],
    ["port", pg.port],
    ["password_encryption", "scram-sha-256"],
    ["wal_level", "replica"],
    ["hot_standby", true],
    ["max_wal_senders", pg.maxWalSenders],
    ["max_replication_slots", pg.maxReplicationSlots],
    ["max_slot_wal_keep_size", pg.maxSlotWalKeepSize === "-1" ? -1 : pg.maxSlotWalKeepSize],
    // Prepared for pg_rewind (a former primary rejoining as a standby without a full copy): it
    // needs data checksums (clusters created here have them) or wal_log_hints (PostgreSQL docs,
    // app-pgrewind). Restart-only: the service step restarts with the other such settings.
    ["wal_log_hints", true],
    // Docs runtime-config-replication: with synchronous_standby_names set, a commit waits until
    // a listed standby confirms it as synchronous_commit says ('*': any standby).
    ...(pg.synchronous.enabled ? ([["synchronous_standby_names", "*"], ["synchronous_commit", pg.synchronous.commit]] as [string, string][]) : []),
  ];
  const overrides = Object.entries(pg.settings);
  const managed = sizing.filter(([k]) => !(k in pg.settings));
  const settings = [...fixed, ...managed, ...overrides.sort(([a], [b]) => a.localeCompare(b))];
  return [
    "# Managed by gitlab-ha (components/postgres). Local changes are overwritten on the next `pulumi up`.",
    ...settings.map(([k, v]) => `${k} = ${confValue(v)}`),
    "",
  ].join("\n");
}

export interface HbaClient {
  /** Host the rule is for, named in a comment. */
  readonly host: string;
  readonly addresses: readonly string[];
}

export interface HbaInput {
  readonly database: string;
  readonly gitlabUser: string;
  readonly replicationUser: string;
  /** Database hosts (primary and standbys): replication peers of each other. */
  readonly replicationPeers: readonly HbaClient[];
  /** GitLab hosts: the only clients of the gitlab role. */
  readonly gitlabClients: readonly HbaClient[];
}

function cidrOf(address: string): string {
  return `${address}/${isIP(address) === 6 ? 128 : 32}`;
}

/**
 * pg_hba.conf: local peer access for the postgres superuser, replication for the database peers,
 * the gitlab role for the GitLab hosts, each from its declared addresses only, with
 * scram-sha-256; everything else is rejected explicitly.
 */
export function renderPgHba(input: HbaInput): string {
  const rows: string[][] = [["local", "all", "postgres", "", "peer"]];
  for (const peer of input.replicationPeers) {
    for (const a of peer.addresses) rows.push(["host", "replication", input.replicationUser, cidrOf(a), "scram-sha-256", `# ${peer.host}`]);
    // pg_rewind of a former primary reads the new primary over a normal connection (switchover.ts).
    for (const a of peer.addresses) rows.push(["host", "postgres", input.replicationUser, cidrOf(a), "scram-sha-256", `# ${peer.host} (pg_rewind)`]);
  }
  for (const client of input.gitlabClients) {
    for (const a of client.addresses) rows.push(["host", "all", input.gitlabUser, cidrOf(a), "scram-sha-256", `# ${client.host}`]);
  }
  rows.push(["host", "all", "all", "0.0.0.0/0", "reject"], ["host", "all", "all", "::/0", "reject"]);
  rows.push(["host", "replication", "all", "0.0.0.0/0", "reject"], ["host", "replication", "all", "::/0", "reject"]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join("  ").trimEnd());
  return [
    "# Managed by gitlab-ha (components/postgres). Local changes are overwritten on the next `pulumi up`.",
    "# TYPE  DATABASE  USER  ADDRESS  METHOD",
    ...lines,
    "",
  ].join("\n");
}

/** One .pgpass line; ':' and '\' in fields are escaped as libpq requires. */
export function renderPgpassLine(host: string, port: number, database: string, user: string, password: string): string {
  const esc = (s: string) => s.replace(/[\\:]/g, (c) => `\\${c}`);
  return `${[host, String(port), database, user, password].map(esc).join(":")}\n`;
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677 as in
 * src/common/scram-common.c). The salt is derived from password and role, so the same password
 * gives the same verifier and converging twice changes nothing; the password itself never has to
 * reach the host. Passwords are expected to be printable ASCII (SASLprep is the identity there).
 */
export function scramVerifier(password: string, role: string, iterations = 4096): string {
  const salt = crypto.createHmac("sha256", password).update(`gitlab-ha scram salt\0${role}`).digest().subarray(0, 16);
  const salted = crypto.pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const clientKey = crypto.createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = crypto.createHash("sha256").update(clientKey).digest();
  const serverKey = crypto.createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
