// gitlab-ha: composes the components from the stack's validated configuration. Nothing is
// created unless the whole configuration is valid (see components/config).
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig, readSecretFile } from "./components/config/load";
import type { HostConfig, Role } from "./components/config/schema";
import { dockerEngine, hostTargets } from "./components/host/target";
import { RunnerHost } from "./components/runner/host";
import { DrbdResource } from "./components/drbd/resource";
import { Firewall } from "./components/firewall/firewall";
import { GitlabBackups } from "./components/backup/backups";
import { GitlabNode, gitlabImageOf } from "./components/gitlab/node";
import { Failover } from "./components/sentinel/failover";
import { LabHosts } from "./components/lab/hosts";
import { LabStandIns } from "./components/lab/stand-ins";
import { PostgresCluster } from "./components/postgres/cluster";
import { gitlabStartStep, type GitlabWriter } from "./components/postgres/switchover";

const labGitlabContainer = (stack: string, host: string) => `${pulumi.getProject()}-${stack}-${host}-gitlab`;

export = async () => {
  const { config, secrets } = loadStackConfig();
  const stack = pulumi.getStack();

  const sshPrivateKey =
    secrets.sshPrivateKey ?? (config.ssh.privateKeyFile ? readSecretFile(config.ssh.privateKeyFile, "ssh.privateKeyFile") : undefined);

  const g = config.gitlab;
  const lab = config.lab
    ? new LabHosts("lab", {
        lab: config.lab,
        hosts: config.hosts,
        sshPrivateKey: sshPrivateKey!,
        prefix: `${pulumi.getProject()}-${stack}`,
        stack,
        publishedPorts: config.hosts.some((h) => h.roles.includes("gitlab")) ? [g.ports.http, g.ports.https, g.ports.ssh] : [],
        ownContainers: config.hosts.filter((h) => h.roles.includes("gitlab")).map((h) => labGitlabContainer(stack, h.name)),
        ...(config.hosts.some((h) => h.roles.includes("gitlab")) ? { gitlabStandIn: gitlabImageOf(g) } : {}),
      })
    : undefined;

  // With ssh.agent the command provider uses $SSH_AUTH_SOCK itself.
  const credential = sshPrivateKey ? { privateKey: sshPrivateKey } : {};
  const containerOf = (h: HostConfig) => (lab ? [lab.containers.get(h.name)!] : []);
  const hostsWith = (role: Role) => config.hosts.filter((h) => h.roles.includes(role));

  // Lab hosts lack a spare disk and the operators' sentinel binary: stand-ins come first.
  const labTargets = hostTargets(config, credential, containerOf);
  const standIns = lab
    ? new LabStandIns("lab-stand-ins", {
        drbdDataNodes: hostsWith("drbd").map((h) => labTargets.get(h.name)!),
        ...(config.failover.engine === "sentinel" ? { sentinelPath: config.failover.sentinel.execStart } : {}),
      })
    : undefined;
  const targets = hostTargets(config, credential, (h) => [...containerOf(h), ...(standIns?.byHost.get(h.name) ?? [])]);
  const withRole = (role: Role) => hostsWith(role).map((h) => targets.get(h.name)!);

  // First on every host: masking firewalld flushes iptables (Docker's chains with it) and, until
  // then, firewalld blocks the DRBD port; containers and DRBD's first connection come after it.
  const firewall = config.firewall.enabled ? new Firewall("firewall", { stack: config, hosts: [...targets.values()] }) : undefined;
  const firewallOf = (host: string): pulumi.Resource[] => (firewall ? [firewall.ready.get(host)!] : []);

  const [primary] = withRole("postgres-primary");
  const containerNameOf = (h: HostConfig) => (lab ? labGitlabContainer(stack, h.name) : "gitlab");
  // GitLab's writes stop while the database primary moves: through the failover engine's unit on
  // DRBD nodes, the container elsewhere.
  const gitlabWriters: GitlabWriter[] = withRole("gitlab").map((host) => ({
    host,
    mode: host.config.roles.includes("drbd") ? "unit" : "container",
    unit: config.failover.gitlabUnit,
    container: containerNameOf(host.config),
  }));
  const postgres = primary
    ? new PostgresCluster("postgres", {
        postgres: config.postgres,
        primary,
        standbys: withRole("postgres-standby"),
        gitlabHosts: withRole("gitlab"),
        gitlabWriters,
        gitlab: config.gitlab,
        ...(secrets.postgresReplicationPassword ? { replicationPassword: secrets.postgresReplicationPassword } : {}),
        ...(secrets.postgresGitlabPassword ? { gitlabPassword: secrets.postgresGitlabPassword } : {}),
        protectPasswords: !lab,
      })
    : undefined;

  const drbdNodes = [...withRole("drbd"), ...withRole("drbd-tiebreaker")];
  const drbd = config.drbd
    ? new DrbdResource("drbd", {
        drbd: config.drbd,
        dataNodes: withRole("drbd"),
        tiebreakers: withRole("drbd-tiebreaker"),
        before: new Map(drbdNodes.map((h) => [h.name, firewallOf(h.name)])),
      })
    : undefined;

  // GitLab on each node's Docker engine: the local one in the lab, ssh:// to the node otherwise.
  const gitlabNodes = new Map<string, GitlabNode>();
  for (const host of withRole("gitlab")) {
    const h = host.config;
    const onDrbd = h.roles.includes("drbd");
    const containerName = containerNameOf(h);
    const volumeRoot = g.volumeRoot ?? (onDrbd && config.drbd ? `${config.drbd.mountPoint}/gitlab` : "/srv/gitlab");
    const node = new GitlabNode(`gitlab-${h.name}`, {
      host,
      stack: config,
      dbPassword: postgres!.gitlabPassword,
      engine: dockerEngine(config, h),
      startedByFailover: onDrbd,
      containerName,
      volumeRoot,
      engineIsLocal: lab !== undefined,
      after: [
        postgres!.primary.ready,
        ...(drbd?.ready.get(h.name) ? [drbd.ready.get(h.name)!] : []),
        ...(lab?.gitlabStandIn ? [lab.gitlabStandIn] : []),
        ...firewallOf(h.name),
      ],
    });
    gitlabNodes.set(h.name, node);
    new GitlabBackups(`backup-${h.name}`, { host, gitlab: g, container: containerName, volumeRoot, onDrbd, after: [node] });
    const writer = gitlabWriters.find((w) => w.host.name === h.name)!;
    gitlabStartStep(`postgres-switchover-gitlab-start-${h.name}`, writer, postgres!.switchover.plan, [node]);
  }

  for (const host of withRole("runner")) {
    new RunnerHost(`runner-${host.name}`, {
      host,
      runners: config.runners,
      mine: config.runners.runners.filter((r) => r.host === host.name),
      ...(g.externalUrl ? { defaultUrl: g.externalUrl } : {}),
      ...(secrets.runnerTokens ? { tokens: secrets.runnerTokens } : {}),
      ...(g.version ? { gitlabVersion: g.version } : {}),
      engine: dockerEngine(config, host.config),
      after: firewallOf(host.name),
    });
  }

  // The failover engine starts GitLab's unit as soon as it is enabled, where the volume is primary:
  // only once that unit, GitLab's directories and its container exist.
  if (drbd && config.drbd) {
    new Failover("failover", {
      failover: config.failover,
      drbd: config.drbd,
      nodes: withRole("drbd").map((host) => ({ host, after: drbd.ready.get(host.name)!, startAfter: gitlabNodes.has(host.name) ? [gitlabNodes.get(host.name)!] : [] })),
    });
  }

  // What operators need; the password only as a secret output.
  const gitlabHosts = hostsWith("gitlab");
  const { http, https, ssh } = config.gitlab.ports;
  return {
    ...(gitlabHosts.length && {
      gitlab: gitlabHosts.map((h) => ({
        node: h.name,
        http: `http://${h.address}${http === 80 ? "" : `:${http}`}/`,
        https: `https://${h.address}${https === 443 ? "" : `:${https}`}/`,
        ssh: `ssh://git@${h.address}:${ssh}`,
      })),
    }),
    ...(postgres && {
      database: {
        primary: { node: primary!.name, ...postgres.primary.endpoint },
        // "old -> new" when this converge moved the primary; GitLab's db_host follows `primary`.
        switchover: postgres.switchover.plan,
        replication: config.postgres.synchronous.enabled ? `synchronous (synchronous_commit=${config.postgres.synchronous.commit})` : "asynchronous",
        standbys: postgres.standbys.map((s) => ({ node: s.host, host: targets.get(s.host)!.config.address, port: config.postgres.port, slot: s.slot })),
        name: config.postgres.database,
        user: config.postgres.gitlabUser,
        password: postgres.gitlabPassword,
      },
    }),
    ...(config.drbd && {
      drbd: {
        resource: config.drbd.resource,
        device: config.drbd.device,
        initialPrimary: config.drbd.initialPrimary,
        dataNodes: hostsWith("drbd").map((h) => h.name),
        tiebreakers: hostsWith("drbd-tiebreaker").map((h) => h.name),
        failover: config.failover.engine,
      },
    }),
    ...(lab && { lab: { image: lab.image, ssh: config.hosts.map((h) => `${h.name}: ssh -i ${config.ssh.privateKeyFile} -p ${h.ssh.port} root@${config.lab!.sshBindAddress}`) } }),
  };
};
