// The one schema of a stack's configuration. Every key of the `gitlab-ha` namespace is declared
// here with its default; cross-key rules (host references, topology, platform support) live in
// rules.ts and run on the same input, so one error can list every problem at once.
import { isIP } from "node:net";
import { z } from "zod";
import { OS_IDS } from "./platforms";
import { VERSION_PATTERN } from "../gitlab/upgrade";
import { LAB_SLOTS } from "../lab/slots";

/**
 * Host roles. drbd: a node of the replicated volume with its own disk (GitLab runs where the
 * volume is primary); drbd-tiebreaker: a diskless DRBD node that only adds a quorum vote;
 * runner: runs gitlab-runner (in a container) for the runners assigned to it.
 */
export const ROLES = ["postgres-primary", "postgres-standby", "gitlab", "drbd", "drbd-tiebreaker", "runner"] as const;
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
const blockDevice = z.string().regex(/^\/dev\/[A-Za-z0-9._/-]+$/, "expected a block device path under /dev, like /dev/vdb1");
const size = z.string().regex(/^\d+[kKMG]?$/, "expected a size like 100M");
const unitName = z.string().regex(/^[A-Za-z0-9@._-]+\.service$/, "expected a systemd service name like gitlab-runsvdir.service");
// One refinement, not a union of cidr and ipAddress: a union's failure is reported as the generic
// "expected a string, number or boolean" (load.ts zodIssue), which says nothing about networks.
const network = z.string().refine((s) => isIP(s) !== 0 || cidr.safeParse(s).success, "expected a network in CIDR form, like 10.0.0.0/24 (or one IP address)");
/**
 * Control characters (newline, CR, NUL, ESC, NEL, ...) end a line of the file or an argument of
 * the command line a value lands in; every string of the config is refused with one (load.ts
 * checks every key, and free-form strings carry this refinement themselves).
 */
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
export const NO_CONTROL_CHARS = "expected no control characters (newline, carriage return, tab, NUL, ...)";
export const text = () => z.string().refine((s) => !CONTROL_CHARS.test(s), NO_CONTROL_CHARS);
/**
 * An http(s) URL without credentials: a URL key lands in files (gitlab.rb, config.toml) and
 * command lines, where a user:password@ would be a plain-text secret.
 */
const httpUrl = z
  .url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" })
  .refine((u) => !URL.canParse(u) || (new URL(u).username === "" && new URL(u).password === ""), "expected a URL without credentials (user:password@): keep secrets out of URLs");

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
  /** CPUs and memory of the host, where known: PostgreSQL's sizing and GitLab's Puma workers derive from them. */
  cpus: z.number().int("expected a whole number of CPUs").min(1).max(1024).optional(),
  memoryMiB: z.number().int("expected memory in MiB, like 16384").min(512, "expected memory in MiB, like 16384").optional(),
  /** This host's place in the DRBD resource (roles drbd and drbd-tiebreaker). */
  drbd: z
    .strictObject({
      nodeId: z.number().int("expected an integer node id").min(0).max(31, "expected a node id from 0 to 31"),
      /** Backing disk (role drbd only; a tiebreaker is diskless). */
      disk: blockDevice.optional(),
    })
    .optional(),
});

export const sshSchema = z.strictObject({
  user: unixUser.default("root"),
  port: port.default(22),
  /** Private key file on the machine running Pulumi (read at run time, kept secret). */
  privateKeyFile: text().min(1).optional(),
  /** Authenticate through the SSH agent at $SSH_AUTH_SOCK instead of a key. */
  agent: z.boolean().default(false),
  /**
   * known_hosts file for the Docker provider's ssh:// connections to GitLab and runner nodes (it
   * runs the local ssh client); unset: the user's own known_hosts. Unknown keys are refused either way.
   */
  knownHostsFile: z.string().regex(/^[A-Za-z0-9._/~-]+$/, "expected a file path of plain characters").refine((p) => !p.startsWith("-"), "expected a path, not an option").optional(),
  /** A jump host every connection goes through. */
  bastion: z
    .strictObject({ host: endpointHost, port: port.default(22), user: unixUser.optional() })
    .optional(),
  /** Connection attempts before a command fails (hosts that are still booting). */
  dialErrorLimit: z.number().int().min(1).max(100).default(20),
  perDialTimeoutSeconds: z.number().int().min(1).max(300).default(15),
});

// postgresql.conf quotes a string with '...': a quote or backslash in it could end the value and
// start another setting (PostgreSQL docs, "Parameter Interaction via the Configuration File").
const settingValue = z
  .union([text(), z.number(), z.boolean()])
  .refine((v) => typeof v !== "string" || !/['\\]/.test(v), "expected no quote or backslash in a setting value");

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
  /**
   * Cap on WAL kept for a lagging slot: beyond it the primary invalidates the slot (wal_status
   * 'lost') instead of filling its disk, and that standby must be rebuilt. `-1`: unlimited.
   */
  maxSlotWalKeepSize: z.string().regex(/^(-1|\d+(kB|MB|GB|TB))$/, "expected -1 or a size like 64GB").default("16GB"),
  /** How long a standby's converge waits for pg_stat_wal_receiver to show it streaming. */
  streamingTimeoutSeconds: z.number().int().min(1).max(3600).default(120),
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
  /** Planned switchover (postgres-primary moved to a standby host): refused when that standby lags more. */
  switchover: z
    .strictObject({
      maxLagBytes: z.number().int().min(0).default(16 * 1024 * 1024),
      /** How long promotion may wait for the last WAL to be replayed, and pg_promote to finish. */
      waitSeconds: z.number().int().min(5).max(3600).default(60),
    })
    .default({ maxLagBytes: 16 * 1024 * 1024, waitSeconds: 60 }),
  /**
   * Synchronous replication: a commit returns once a standby has the WAL (no committed row lost
   * on failover), and waits while no standby is connected (see the README's trade-off).
   */
  synchronous: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** synchronous_commit when enabled: on (standby flushed), remote_write, or remote_apply (visible there). */
      commit: z.enum(["on", "remote_write", "remote_apply"]).default("on"),
    })
    .default({ enabled: false, commit: "on" }),
});

const sbPolicy0 = z.enum(["disconnect", "discard-younger-primary", "discard-older-primary", "discard-zero-changes", "discard-least-changes", "discard-local", "discard-remote"]);
const sbPolicy1 = z.enum(["disconnect", "consensus", "violently-as0p", "discard-secondary", "call-pri-lost-after-sb"]);
const sbPolicy2 = z.enum(["disconnect", "violently-as0p", "call-pri-lost-after-sb"]);

export const drbdSchema = z.strictObject({
  resource: z.string().regex(/^[a-z][a-z0-9_-]{0,30}$/, "expected a DRBD resource name").default("gitlab"),
  device: z.string().regex(/^\/dev\/drbd\d{1,4}$/, "expected a DRBD device like /dev/drbd0").default("/dev/drbd0"),
  port: port.default(7789),
  /** The data node that is made primary and formatted on first initialisation. */
  initialPrimary: hostName,
  mountPoint: absolutePath.default("/vdb"),
  filesystem: z.enum(["ext4", "xfs"]).default("ext4"),
  /** create-md --max-peers. */
  maxPeers: z.number().int().min(1).max(31).default(6),
  /** Kernel module package to install (EL: e.g. kmod-drbd9x from ELRepo); none when the kernel has DRBD 9. */
  modulePackage: z.string().regex(/^[A-Za-z0-9._+-]+$/, "expected a package name").optional(),
  /** Bring the resource up, promote and format the initial primary. Lab containers have no DRBD module: false there. */
  activate: z.boolean().default(true),
  /** GitLab's directories, moved onto the volume (under <mountPoint>/gitlab) and linked back. */
  gitlabDirectories: z.array(absolutePath).default(["/etc/gitlab", "/var/opt/gitlab", "/var/log/gitlab"]),
  net: z
    .strictObject({
      protocol: z.enum(["A", "B", "C"]).default("C"),
      transport: z.enum(["tcp", "rdma"]).default("tcp"),
      verifyAlg: z.string().regex(/^[a-z0-9-]+$/).default("sha1"),
      csumsAlg: z.string().regex(/^[a-z0-9-]+$/).default("sha1"),
      /** Off unless set: DRBD documents it as a diagnostic, not for production (see components/drbd/render.ts). */
      dataIntegrityAlg: z.string().regex(/^[a-z][a-z0-9-]*$/, "expected a kernel digest name like crc32c or sha256").optional(),
      afterSb0pri: sbPolicy0.default("discard-zero-changes"),
      afterSb1pri: sbPolicy1.default("consensus"),
      afterSb2pri: sbPolicy2.default("disconnect"),
    })
    .default(() => ({ protocol: "C" as const, transport: "tcp" as const, verifyAlg: "sha1", csumsAlg: "sha1", afterSb0pri: "discard-zero-changes" as const, afterSb1pri: "consensus" as const, afterSb2pri: "disconnect" as const })),
  disk: z
    .strictObject({
      cPlanAhead: z.number().int().min(0).max(300).default(5),
      cMaxRate: size.default("100M"),
      cFillTarget: size.default("32M"),
      /** call-local-io-error is not offered: it needs a local-io-error handler the program does not define. */
      onIoError: z.enum(["detach", "pass_on"]).default("detach"),
      diskFlushes: z.boolean().default(true),
      mdFlushes: z.boolean().default(true),
    })
    .default(() => ({ cPlanAhead: 5, cMaxRate: "100M", cFillTarget: "32M", onIoError: "detach" as const, diskFlushes: true, mdFlushes: true })),
  /** DRBD 9 quorum: with a tiebreaker, the side of a partition without majority cannot write. */
  quorum: z.enum(["majority", "off"]).default("majority"),
  /**
   * Explicit, named acceptance of running two data nodes without quorum (the runbook's split
   * brain), e.g. "accepted by J. Doe, CHG-1234: third site not available yet".
   */
  acknowledgeSplitBrainRisk: text().min(10, "expected who accepted the risk and why").optional(),
});

export const failoverSchema = z.strictObject({
  /** sentinel: the runbook's git_sentinel unit; drbd-reactor: LINBIT's promoter. */
  engine: z.enum(["sentinel", "drbd-reactor"]).default("sentinel"),
  sentinel: z
    .strictObject({
      execStart: absolutePath.default("/opt/git_sentinel/git_sentinel"),
      port: port.default(7980),
    })
    .default({ execStart: "/opt/git_sentinel/git_sentinel", port: 7980 }),
  /**
   * The unit that runs GitLab's container on a DRBD data node, written under this name by the
   * program: disabled at boot, started only by the failover engine (see the failover contract).
   */
  gitlabUnit: unitName.default("gitlab-container.service"),
});

const portOrRange = z.union([
  port,
  z.string().regex(/^\d{1,5}-\d{1,5}$/, "expected a port or a range like 9100-9110").refine((s) => {
    const [a, b] = s.split("-").map(Number) as [number, number];
    return a >= 1 && b <= 65535 && a <= b;
  }, "expected a range of ports from 1 to 65535, the first not above the last"),
]);
const firewallExtraRule = z.strictObject({
  /** Why it is open; becomes the rule's comment. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/, "expected a short name of letters, digits, spaces, '.', '_' or '-'"),
  /** The rule goes on every host with one of these roles. */
  roles: z.array(z.enum(ROLES)).min(1, "expected at least one role"),
  protocol: z.enum(["tcp", "udp"]).default("tcp"),
  ports: z.array(portOrRange).min(1, "expected at least one port"),
  sources: z
    .array(network.refine((s) => s.split("/")[1] !== "0", "expected a specific network: a rule open to everyone is refused"))
    .min(1, "expected at least one source network"),
});

export const firewallSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Where SSH (administration, and Pulumi itself) may come from. */
  adminNetworks: z.array(network).default([]),
  /** Where GitLab's users come from (HTTP, HTTPS, Git over SSH); both families are filtered, so "anyone" is both. */
  gitlabClientNetworks: z.array(network).default(["0.0.0.0/0", "::/0"]),
  /** More ports to open on the hosts of some roles (monitoring agents, backup pulls), from named networks only. */
  extraRules: z.array(firewallExtraRule).default([]),
});

/** GitLab: the version to run (checked against the upgrade stops) and the ports it serves. */
export const gitlabSchema = z.strictObject({
  /** The version to run, e.g. "17.11.7"; required when hosts have role gitlab. */
  version: z.string().regex(VERSION_PATTERN, "expected a GitLab version like 17.11.7").optional(),
  /** The version running now, when this converge upgrades from it (the stops are checked). */
  runningVersion: z.string().regex(VERSION_PATTERN, "expected a GitLab version like 17.11.7").optional(),
  edition: z.enum(["ce", "ee"]).default("ce"),
  /** Image repository; the tag is `<version>-<edition>.0`. Lab stacks name a stand-in here. */
  image: z.string().regex(/^[a-z0-9][a-z0-9._/:-]*$/, "expected a Docker image repository").optional(),
  /** external_url of gitlab.rb. */
  externalUrl: httpUrl.optional(),
  /**
   * HTTPS for an https externalUrl. Omnibus turns Let's Encrypt on by itself when no certificate
   * file exists (omnibus-gitlab letsencrypt.rb `should_auto_enable?`, !2353), which fails the
   * first boot of a host the Internet cannot reach: here it is off unless asked, and nginx reads
   * the certificate and key named here (paths inside the container; Omnibus defaults
   * /etc/gitlab/ssl/<host>.crt and .key).
   */
  tls: z
    .strictObject({
      letsEncrypt: z.boolean().default(false),
      /** letsencrypt['contact_emails'] (letsEncrypt: true only). */
      contactEmails: z.array(z.email({ error: "expected an e-mail address" })).default([]),
      certificate: absolutePath.optional(),
      key: absolutePath.optional(),
    })
    .default({ letsEncrypt: false, contactEmails: [] }),
  /** Host directory holding config/, data/ and logs/ of the container; DRBD nodes default to <mountPoint>/gitlab. */
  volumeRoot: absolutePath.optional(),
  shmSize: z.number().int().min(64).max(65536).default(256),
  /**
   * Puma and Sidekiq sizes, all written to each node's gitlab.rb (Omnibus would otherwise size
   * itself from the CPUs it sees inside the container); the database's max_connections derives
   * from the same values (components/postgres/sizing.ts).
   */
  puma: z
    .strictObject({
      /**
       * puma['worker_processes'] (0: single mode). Unset: per node, Omnibus's own formula from
       * hosts[].cpus and memoryMiB, max(2, min(CPUs, (MiB - 1536) / 1024)); 2 when cpus is unset;
       * DRBD nodes share one gitlab.rb on the volume: the smallest of their counts.
       */
      workerProcesses: z.number().int().min(0).max(256).optional(),
      /** puma['max_threads'], GitLab's default 4. */
      maxThreads: z.number().int().min(1).max(64).default(4),
    })
    .default({ maxThreads: 4 }),
  /** sidekiq['concurrency'], GitLab's default 20 (one Sidekiq process). */
  sidekiq: z.strictObject({ concurrency: z.number().int().min(1).max(512).default(20) }).default({ concurrency: 20 }),
  backup: z
    .strictObject({
      /** backup_path inside the container. */
      path: absolutePath.default("/var/opt/gitlab/backups"),
      /** Seconds (the runbook: 604800, 7 days); also the retention of the config backups. 0 keeps every archive. */
      keepTime: z.number().int().min(0).default(604800),
      /** GitLab's default 0600: archives hold the database (backup_gitlab.md, "Backup archive permissions"). */
      archivePermissions: z.string().regex(/^0[0-7]{3}$/, "expected an octal mode like 0600").default("0600"),
      /** Host directory of the /etc/gitlab archives: off the DRBD volume and GitLab's volume root. */
      configDirectory: absolutePath.default("/var/backups/gitlab-ha/config"),
      /** systemd OnCalendar of the scheduled `gitlab-backup create`. */
      schedule: z.string().regex(/^[A-Za-z0-9*:,. /~-]+$/, "expected a systemd calendar expression").default("*-*-* 02:00:00"),
      /** STRATEGY=copy avoids failed tars while data changes (runbook). */
      strategy: z.enum(["copy", "default"]).default("copy"),
      skip: z.array(z.enum(["db", "uploads", "builds", "artifacts", "lfs", "terraform_state", "registry", "pages", "repositories", "packages", "ci_secure_files", "tar"])).default([]),
      /** DIRECTORY= (a subdirectory of the backup path). */
      directory: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
      /** Copy of the backup archives and config backups to another host (the standby site). */
      rsync: z
        .strictObject({
          /** rsync destination, user@host:/path (the directory must exist there). */
          target: z.string().regex(/^[a-z_][a-z0-9_-]*@[A-Za-z0-9.-]+:\/[A-Za-z0-9._/-]*$/, "expected user@host:/path"),
          port: port.default(22),
          /** The target's SSH host key ("ssh-ed25519 AAAA..."); no other key is accepted. */
          hostKey: z.string().regex(/^(ssh-|ecdsa-)[a-z0-9-]+ [A-Za-z0-9+/=]+$/, "expected a public key line like 'ssh-ed25519 AAAA...'"),
          /** Private key on the GitLab node used for the transfer. */
          sshKeyFile: absolutePath,
          /** After the daily backup; a copy waits while a backup is still being written. */
          schedule: z.string().regex(/^[A-Za-z0-9*:,. /~-]+$/).default("*-*-* 04:00:00"),
        })
        .optional(),
    })
    .default({ path: "/var/opt/gitlab/backups", keepTime: 604800, archivePermissions: "0600", configDirectory: "/var/backups/gitlab-ha/config", schedule: "*-*-* 02:00:00", strategy: "copy", skip: [] }),
  /** More gitlab.rb lines, appended as given (checked by ruby in the tests). */
  extraConfig: z.array(text()).default([]),
  ports: z
    .strictObject({ http: port.default(80), https: port.default(443), ssh: port.default(2222) })
    .default({ http: 80, https: 443, ssh: 2222 }),
});

const runnerName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "expected a runner name: lower-case letters, digits and '-'");

export const runnerSchema = z.strictObject({
  name: runnerName,
  /** Host (role runner) that runs it. */
  host: hostName,
  /** GitLab URL; gitlab.externalUrl when unset. */
  url: httpUrl.optional(),
  /**
   * The executors the renderer configures completely: shell, and docker with its `docker` block.
   * Others need sections it does not write (docker-autoscaler and instance [runners.autoscaler],
   * docker+machine [runners.machine], kubernetes, ssh, custom, virtualbox, parallels their own), and
   * gitlab-runner fails them at job time ("missing docker configuration": executors/docker/docker.go).
   */
  executor: z.enum(["shell", "docker"], "expected shell or docker: the executors this project renders (docker-autoscaler/instance need [runners.autoscaler], docker+machine [runners.machine], which it does not write)"),
  /** Legacy registration-token flow only: set on creation otherwise (GitLab 15.10+). */
  description: z
    .string()
    // It is a form field of POST /api/v4/runners: a leading @ or < would make `curl -F` upload a
    // file (curl's man page, -F); the script sends it with --form-string, and it is refused here too.
    .regex(/^[^@<\x00-\x1f\x7f][^\x00-\x1f\x7f]*$/, "expected one line of text not starting with '@' or '<'")
    .optional(),
  tags: z.array(z.string().regex(/^[A-Za-z0-9_.-]+$/)).default([]),
  /** Jobs at once for this runner; 0: no limit but `concurrent` (gitlab-runner common/config.go RunnerConfig.Limit). */
  limit: z.number().int().min(0).default(0),
  /**
   * Job requests the runner keeps open at once. gitlab-runner uses 1 when unset
   * (common/config.go GetRequestConcurrency) and then warns of a request bottleneck on every config
   * load, advising 2-4 (commands/multi.go checkConfigConcurrency): hence 2.
   */
  requestConcurrency: z.number().int().min(1).default(2),
  buildsDir: absolutePath.optional(),
  cacheDir: absolutePath.optional(),
  environment: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=/, "expected NAME=value")).default([]),
  /** Job log size in kilobytes; gitlab-runner's default is 4 MiB (common/consts.go DefaultTraceOutputLimit). */
  outputLimit: z.number().int().min(1).default(4096),
  preGetSourcesScript: text().optional(),
  preBuildScript: text().optional(),
  postBuildScript: text().optional(),
  docker: z
    .strictObject({
      image: text().min(1),
      privileged: z.boolean().default(false),
      volumes: z.array(text()).default([]),
      memory: z.string().regex(/^\d+[kmg]?$/).optional(),
      cpus: z.string().regex(/^\d+(\.\d+)?$/).optional(),
      pullPolicy: z.array(z.enum(["always", "if-not-present", "never"])).optional(),
      allowedImages: z.array(text()).optional(),
    })
    .optional(),
  cache: z
    .strictObject({
      type: z.enum(["s3", "gcs", "azure"]),
      path: text().optional(),
      shared: z.boolean().default(false),
      /** Bucket settings as gitlab-runner names them (ServerAddress, BucketName, ...); credentials come from the environment or instance roles. */
      settings: z.record(z.string().regex(/^[A-Z][A-Za-z]+$/, "expected a setting name like BucketName"), z.union([text(), z.boolean()])).default({}),
    })
    .optional(),
});

export const runnersSchema = z.strictObject({
  /**
   * gitlab-runner image version (the container runs gitlab/gitlab-runner:v<version>); when unset,
   * gitlab.version's major.minor with patch 0 (runner and GitLab are released and kept in step by
   * major.minor: gitlab-runner docs "GitLab Runner versions").
   */
  version: z.string().regex(VERSION_PATTERN, "expected a version like 17.11.0").optional(),
  /**
   * Acknowledges that the GitLab instance re-enabled runner registration tokens (Admin area,
   * `allow_runner_registration_token`): GitLab 17.0 turned them off by default
   * (gitlab-org/gitlab!150648), so a registrationToken is refused for gitlab.version >= 17.0 without it.
   */
  allowRunnerRegistrationToken: z.boolean().default(false),
  /** Image repository; lab stacks name a stand-in. */
  image: z.string().regex(/^[a-z0-9][a-z0-9._/:-]*$/).default("gitlab/gitlab-runner"),
  concurrent: z.number().int().min(1).default(4),
  logLevel: z.enum(["debug", "info", "warn", "error", "fatal", "panic"]).default("info"),
  logFormat: z.enum(["runner", "text", "json"]).default("runner"),
  checkInterval: z.number().int().min(0).default(3),
  /**
   * Seconds a forceful stop (SIGTERM/SIGINT) waits for aborted jobs before the process exits
   * (commands/multi.go handleForcefulShutdown); gitlab-runner's default is 30
   * (common/consts.go DefaultShutdownTimeout).
   */
  shutdownTimeout: z.number().int().min(1).default(30),
  /**
   * Seconds Docker lets the runner container finish its running jobs after SIGQUIT (graceful stop:
   * commands/multi.go handleGracefulShutdown waits for every job) before it kills it, on a replace
   * or destroy as on `docker stop`. At least shutdownTimeout; default: GitLab's default job timeout
   * of one hour.
   */
  stopTimeout: z.number().int().min(1).default(3600),
  /** Metrics listener (changing it needs a runner restart). */
  listenAddress: z.string().regex(/^[^\s]*:\d+$/, "expected host:port").optional(),
  sessionServer: z
    .strictObject({ listenAddress: text(), advertiseAddress: text(), sessionTimeout: z.number().int().min(1).default(1800) })
    .optional(),
  runners: z.array(runnerSchema).default([]),
});

export const labSchema = z.strictObject({
  /** Repository name of the lab host image; the tag is derived from the image recipe. */
  image: z.string().regex(/^[a-z0-9][a-z0-9._/-]*$/, "expected a Docker repository name").default("gitlab-ha-lab-host"),
  /** Docker engine that runs the lab hosts. */
  dockerHost: z.string().regex(/^(unix|tcp|ssh):\/\//, "expected unix://, tcp:// or ssh://").default("unix:///var/run/docker.sock"),
  /**
   * Lab network: every host's `address` must lie in `subnet`. Derived from the stack's slot when
   * unset (components/lab/slots.ts), as are the hosts' addresses and SSH ports.
   */
  network: z.strictObject({ name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "expected a Docker network name"), subnet: cidr }),
  /** Address the hosts' SSH ports are published on (each host's `ssh.port`). */
  sshBindAddress: ipAddress.default("127.0.0.1"),
  /** Overrides the slot derived from `<project>/<stack>`, when two lab stacks' names derive the same one. */
  slot: z.number().int("expected a whole number").min(0, `expected a slot from 0 to ${LAB_SLOTS - 1}`).max(LAB_SLOTS - 1, `expected a slot from 0 to ${LAB_SLOTS - 1}`).optional(),
});

/** Non-secret keys, each a Pulumi config key `gitlab-ha:<key>`. */
export const stackSchema = z.strictObject({
  hosts: z.array(hostSchema).min(1, "expected at least one host"),
  ssh: sshSchema.default(() => sshSchema.parse({})),
  postgres: postgresSchema.default(() => postgresSchema.parse({})),
  /** Present when hosts have DRBD roles. */
  drbd: drbdSchema.optional(),
  failover: failoverSchema.default(() => failoverSchema.parse({})),
  firewall: firewallSchema.default(() => firewallSchema.parse({})),
  gitlab: gitlabSchema.default(() => gitlabSchema.parse({})),
  runners: runnersSchema.default(() => runnersSchema.parse({})),
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
  /** JSON object: runner name to { "token": "glrt-..." } or { "registrationToken": "..." }. */
  runnerTokens: "runner tokens by runner name",
} as const;
export type SecretKey = keyof typeof SECRET_KEYS;

export type StackConfig = z.output<typeof stackSchema>;
export type HostConfig = z.output<typeof hostSchema>;
export type PostgresConfig = z.output<typeof postgresSchema>;
export type SshConfig = z.output<typeof sshSchema>;
export type LabConfig = z.output<typeof labSchema>;
export type DrbdConfig = z.output<typeof drbdSchema>;
export type FailoverConfig = z.output<typeof failoverSchema>;
export type FirewallConfig = z.output<typeof firewallSchema>;
export type GitlabConfig = z.output<typeof gitlabSchema>;
export type RunnersConfig = z.output<typeof runnersSchema>;
export type RunnerConfig = z.output<typeof runnerSchema>;
