// The one schema of a stack's configuration. Every key of the `gitlab-ha` namespace is declared
// here with its default; cross-key rules (host references, topology, platform support) live in
// rules.ts and run on the same input, so one error can list every problem at once.
import { isIP } from "node:net";
import { z } from "zod";
import { OS_IDS } from "./platforms";

/** Host roles implemented so far. Later capabilities add theirs here. */
export const ROLES = ["postgres-primary", "postgres-standby", "gitlab"] as const;
export type Role = (typeof ROLES)[number];

const hostName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "expected a host name: lower-case letters, digits and '-', at most 63");
const ipAddress = z.string().refine((s) => isIP(s) !== 0, "expected an IPv4 or IPv6 address");
const cidr = z.string().refine((s) => {
  const [addr, bits, ...rest] = s.split("/");
  const kind = isIP(addr ?? "");
  const n = Number(bits);
  return rest.length === 0 && kind !== 0 && Number.isInteger(n) && n >= 0 && n <= (kind === 4 ? 32 : 128);
}, "expected a network in CIDR form, like 10.0.0.0/24");
const endpointHost = z
  .string()
  .refine((s) => isIP(s) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(s), "expected an IP address or DNS name");
const port = z.number().int("expected an integer port").min(1, "expected a port from 1 to 65535").max(65535, "expected a port from 1 to 65535");
const unixUser = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "expected a Unix user name");
const sqlIdentifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "expected a lower-case SQL identifier");
const absolutePath = z.string().regex(/^\/[A-Za-z0-9._/-]*$/, "expected an absolute path of plain characters");

export const hostSchema = z.strictObject({
  /** Unique name; also the name of the host's resources. */
  name: hostName,
  /** Address other hosts use to reach this one (replication, pg_hba, firewall rules). */
  address: ipAddress,
  /** Operating system: decides apt or dnf, package names and file layout. */
  os: z.enum(OS_IDS).default("debian-12"),
  roles: z.array(z.enum(ROLES)).min(1, "expected at least one role"),
  /** How Pulumi reaches the host when that differs from `address` and the stack's `ssh` defaults. */
  ssh: z
    .strictObject({
      host: endpointHost.optional(),
      port: port.optional(),
      user: unixUser.optional(),
      /** Pinned SSH host key ("ssh-ed25519 AAAA..."); the connection fails if the host shows another. */
      hostKey: z.string().regex(/^(ssh-|ecdsa-)[a-z0-9-]+ [A-Za-z0-9+/=]+$/, "expected a public key line like 'ssh-ed25519 AAAA...'").optional(),
    })
    .default({}),
  /**
   * Further source addresses this host's connections can arrive from, e.g. a Docker bridge
   * gateway when its services run in NATed containers (the runbook's 172.17.0.1 problem).
   */
  sourceAddresses: z.array(ipAddress).default([]),
});

export const sshSchema = z.strictObject({
  user: unixUser.default("root"),
  port: port.default(22),
  /** Private key file on the machine running Pulumi (read at run time, kept secret). */
  privateKeyFile: z.string().min(1).optional(),
  /** Authenticate through the SSH agent at $SSH_AUTH_SOCK instead of a key. */
  agent: z.boolean().default(false),
  /** A jump host every connection goes through. */
  bastion: z
    .strictObject({ host: endpointHost, port: port.default(22), user: unixUser.optional() })
    .optional(),
  /** Connection attempts before a command fails (hosts that are still booting). */
  dialErrorLimit: z.number().int().min(1).max(100).default(20),
  perDialTimeoutSeconds: z.number().int().min(1).max(300).default(15),
});

const settingValue = z.union([z.string(), z.number(), z.boolean()]);

export const postgresSchema = z.strictObject({
  /** Major version, the same on primary and standbys. */
  version: z.number().int("expected a PostgreSQL major version like 16").default(16),
  /** pgdg: the PostgreSQL project's repository; distribution: the OS's own package. */
  packageSource: z.enum(["pgdg", "distribution"]).default("pgdg"),
  port: port.default(5432),
  /** Data directory; the platform's default when unset. */
  dataDirectory: absolutePath.optional(),
  listenAddresses: z.array(z.union([z.literal("*"), ipAddress])).min(1).default(["*"]),
  database: sqlIdentifier.default("gitlabhq_production"),
  gitlabUser: sqlIdentifier.default("gitlab"),
  /** The runbook's `CREATEDB` for the gitlab role. */
  gitlabUserCreatedb: z.boolean().default(true),
  /** Role used by standbys to stream (the runbook's `backup`). */
  replicationUser: sqlIdentifier.default("backup"),
  /** Extensions GitLab needs, created by the superuser in the GitLab database. */
  extensions: z.array(sqlIdentifier).default(["pg_trgm", "btree_gist", "plpgsql"]),
  maxWalSenders: z.number().int().min(2).max(1000).default(10),
  maxReplicationSlots: z.number().int().min(1).max(1000).default(10),
  /** Cap on WAL kept for a lagging slot (`-1`: unlimited, PostgreSQL's default). */
  maxSlotWalKeepSize: z.string().regex(/^(-1|\d+(kB|MB|GB|TB))$/, "expected -1 or a size like 64GB").default("-1"),
  /** Further postgresql.conf settings, written as given. */
  settings: z.record(z.string().regex(/^[a-z_][a-z0-9_.]*$/, "expected a setting name"), settingValue).default({}),
  basebackup: z
    .strictObject({
      /** pg_basebackup --max-rate, e.g. "50M": protects the primary's disks while a standby is built. */
      maxRate: z.string().regex(/^\d+[kM]?$/, "expected a rate like 32k or 50M").optional(),
      checkpoint: z.enum(["fast", "spread"]).default("fast"),
    })
    .default({ checkpoint: "fast" }),
  /**
   * Standbys to rebuild from the primary although they hold a working cluster: host name to a
   * token. A standby is rebuilt once per new token; remove the entry or keep the token afterwards.
   */
  rebuildStandbys: z.record(hostName, z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "expected a token of letters, digits, '.', '_' or '-'")).default({}),
});

export const labSchema = z.strictObject({
  /** Repository name of the lab host image; the tag is derived from the image recipe. */
  image: z.string().regex(/^[a-z0-9][a-z0-9._/-]*$/, "expected a Docker repository name").default("gitlab-ha-lab-host"),
  /** Docker engine that runs the lab hosts. */
  dockerHost: z.string().regex(/^(unix|tcp|ssh):\/\//, "expected unix://, tcp:// or ssh://").default("unix:///var/run/docker.sock"),
  /** Lab network: every host's `address` must lie in `subnet`. */
  network: z.strictObject({ name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "expected a Docker network name"), subnet: cidr }),
  /** Address the hosts' SSH ports are published on (each host's `ssh.port`). */
  sshBindAddress: ipAddress.default("127.0.0.1"),
});

/** Non-secret keys, each a Pulumi config key `gitlab-ha:<key>`. */
export const stackSchema = z.strictObject({
  hosts: z.array(hostSchema).min(1, "expected at least one host"),
  ssh: sshSchema.default(() => sshSchema.parse({})),
  postgres: postgresSchema.default(() => postgresSchema.parse({})),
  /** Present only in lab stacks: the hosts are containers the stack creates itself. */
  lab: labSchema.optional(),
});

/** Keys that must be set with `pulumi config set --secret`; all optional. */
export const SECRET_KEYS = {
  /** SSH private key (PEM or OpenSSH format) used for every host. */
  sshPrivateKey: "SSH private key used to reach every host",
  /** Password of the replication role; generated when unset. */
  postgresReplicationPassword: "password of the PostgreSQL replication role",
  /** Password of the gitlab role; generated when unset. */
  postgresGitlabPassword: "password of the PostgreSQL gitlab role",
} as const;
export type SecretKey = keyof typeof SECRET_KEYS;

export type StackConfig = z.output<typeof stackSchema>;
export type HostConfig = z.output<typeof hostSchema>;
export type PostgresConfig = z.output<typeof postgresSchema>;
export type SshConfig = z.output<typeof sshSchema>;
export type LabConfig = z.output<typeof labSchema>;
