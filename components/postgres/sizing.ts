// PostgreSQL sized for GitLab: the managed defaults of the connection, memory and timeout
// settings, derived from the GitLab nodes and the database hosts' memory. Pure; config may
// override each of them through postgres.settings (identically on every database host).
//
// GitLab doc/administration/postgresql/tune.md: "Required settings for external instances"
// (max_connections >= 400, shared_buffers >= 2 GB, work_mem >= 8 MB, maintenance_work_mem >= 64 MB,
// statement_timeout 15000-60000 ms) and "Plan your database connections": since 16.0 GitLab opens
// two connection sets (main and ci); Puma = worker_processes x (max_threads + DB_POOL_HEADROOM),
// Sidekiq = processes x (concurrency + 1 + DB_POOL_HEADROOM), DB_POOL_HEADROOM = 10, total =
// 2 x the sum over nodes.

/** GitLab's DB_POOL_HEADROOM (tune.md). */
export const DB_POOL_HEADROOM = 10;
/** Connections beyond GitLab's pools: backups (pg_dump), the program's psql steps, an operator. */
export const ADMIN_CONNECTIONS = 20;
/** tune.md: max_connections "minimum 400". */
export const MIN_MAX_CONNECTIONS = 400;

export interface GitlabNodeSize {
  readonly name: string;
  /** A DRBD node: GitLab runs on one of them at a time, where the volume is primary. */
  readonly drbd?: boolean | undefined;
  readonly cpus?: number | undefined;
  readonly memoryMiB?: number | undefined;
}

export interface GitlabLoad {
  readonly nodes: readonly GitlabNodeSize[];
  readonly puma: { readonly workerProcesses?: number | undefined; readonly maxThreads: number };
  readonly sidekiq: { readonly concurrency: number };
}

/**
 * Without hosts[].cpus, a node gets this many Puma workers: the minimum omnibus-gitlab's puma.rb
 * `workers` ever picks ("Two is the minimum or web editor will no longer work"), which fits any
 * node GitLab runs on. Set hosts[].cpus (and memoryMiB) or gitlab.puma.workerProcesses for more.
 */
export const DEFAULT_PUMA_WORKERS = 2;

/**
 * puma['worker_processes'] written to a node's gitlab.rb, so that GitLab never sizes itself from
 * the CPUs it sees inside the container (the engine host's, not the node's share): the key when
 * set, else omnibus-gitlab files/gitlab-cookbooks/gitlab/libraries/puma.rb `workers` from the
 * node's hosts[].cpus and memoryMiB: max(2, min(CPUs, (RAM - 1.5 GiB) / 1 GiB)), else
 * DEFAULT_PUMA_WORKERS. 0 is Puma's single mode. The database is sized from the same number.
 */
export function pumaWorkers(node: GitlabNodeSize, puma: GitlabLoad["puma"]): number {
  if (puma.workerProcesses !== undefined) return puma.workerProcesses;
  if (node.cpus === undefined) return DEFAULT_PUMA_WORKERS;
  const byMemory = node.memoryMiB !== undefined ? Math.floor((node.memoryMiB - 1536) / 1024) : node.cpus;
  return Math.max(2, Math.min(node.cpus, byMemory));
}

/**
 * The count a node's gitlab.rb gets. DRBD nodes share one /etc/gitlab on the volume, so one
 * gitlab.rb: the smallest node's count, which either node can run.
 */
export function writtenPumaWorkers(node: GitlabNodeSize, load: GitlabLoad): number {
  if (!node.drbd) return pumaWorkers(node, load.puma);
  return Math.min(...load.nodes.filter((n) => n.drbd).map((n) => pumaWorkers(n, load.puma)), pumaWorkers(node, load.puma));
}

/** The GitLab load of a stack's gitlab hosts and its gitlab.puma / gitlab.sidekiq keys. */
export function gitlabLoad(
  hosts: readonly { readonly name: string; readonly roles: readonly string[]; readonly cpus?: number | undefined; readonly memoryMiB?: number | undefined }[],
  gitlab: { readonly puma: GitlabLoad["puma"]; readonly sidekiq: GitlabLoad["sidekiq"] },
): GitlabLoad {
  const nodes = hosts.filter((h) => h.roles.includes("gitlab")).map((h) => ({ name: h.name, drbd: h.roles.includes("drbd"), cpus: h.cpus, memoryMiB: h.memoryMiB }));
  return { nodes, puma: gitlab.puma, sidekiq: gitlab.sidekiq };
}

/** Connections one GitLab node opens (one set: main or ci). */
export function nodeConnections(node: GitlabNodeSize, load: GitlabLoad): number {
  // Single mode (0 workers) still runs one Puma process.
  return Math.max(1, writtenPumaWorkers(node, load)) * (load.puma.maxThreads + DB_POOL_HEADROOM) + (load.sidekiq.concurrency + 1 + DB_POOL_HEADROOM);
}

/** Nodes that run GitLab at the same time: every plain node, and the largest DRBD node. */
export function activeNodes(load: GitlabLoad): GitlabNodeSize[] {
  const plain = load.nodes.filter((n) => !n.drbd);
  const drbd = load.nodes.filter((n) => n.drbd).sort((a, b) => nodeConnections(b, load) - nodeConnections(a, load));
  return [...plain, ...drbd.slice(0, 1)];
}

/** max_connections the topology needs: two sets per active node, the admin reserve, at least 400. */
export function requiredConnections(load: GitlabLoad): number {
  const gitlab = 2 * activeNodes(load).reduce((n, node) => n + nodeConnections(node, load), 0);
  return Math.max(MIN_MAX_CONNECTIONS, gitlab + ADMIN_CONNECTIONS);
}

/**
 * shared_buffers: a quarter of the smallest database host's memory (the Linux package default,
 * tune.md), at least 2 GB (tune.md) and at most 14 GB (omnibus-gitlab gitlab.rb.template:
 * "recommend value is 1/4 of total RAM, up to 14GB"); 2 GB when no memory is known.
 */
export function sharedBuffersMiB(dbMemoryMiB: readonly (number | undefined)[]): number {
  const known = dbMemoryMiB.filter((m): m is number => m !== undefined);
  if (known.length === 0) return 2048;
  return Math.min(14336, Math.max(2048, Math.floor(Math.min(...known) / 4)));
}

export type SettingValue = string | number | boolean;

/**
 * The managed GitLab settings, in a stable order. The five a hot standby needs no lower than its
 * primary (PostgreSQL docs, high-availability "hot-standby-admin": max_connections,
 * max_prepared_transactions, max_locks_per_transaction, max_wal_senders, max_worker_processes)
 * are all set explicitly here or in render.ts, and the file is identical on every database host.
 */
export function gitlabSettings(load: GitlabLoad, dbMemoryMiB: readonly (number | undefined)[]): [string, SettingValue][] {
  const known = dbMemoryMiB.filter((m): m is number => m !== undefined);
  // tune.md: "minimum 64 MB ... more for larger database servers": 1/16 of memory, up to 1 GB.
  const maintenance = known.length ? Math.min(1024, Math.max(64, Math.floor(Math.min(...known) / 16))) : 64;
  return [
    ["max_connections", requiredConnections(load)],
    ["shared_buffers", `${sharedBuffersMiB(dbMemoryMiB)}MB`],
    // The Linux package's default (gitlab.rb.template), above tune.md's 8 MB minimum.
    ["work_mem", "16MB"],
    ["maintenance_work_mem", `${maintenance}MB`],
    // tune.md: one minute matches Puma's rack timeout; also the Linux package's own default
    // (gitlab.rb.template). pg_dump sets its session's to 0 (src/bin/pg_dump/pg_dump.c).
    ["statement_timeout", 60000],
    // gitlab.rb.template defaults for the bundled server; explicit so that every host agrees.
    ["max_locks_per_transaction", 128],
    ["max_worker_processes", 8],
    ["max_prepared_transactions", 0],
  ];
}
