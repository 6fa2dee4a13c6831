// Per-host firewall, derived from the roles in the config (never a hand-kept port list): each
// service port is open only to the hosts that use it, SSH only to the admin networks.
import * as pulumi from "@pulumi/pulumi";
import type { remote } from "@pulumi/command";
import type { HostConfig, StackConfig } from "../config/schema";
import { hostCommand } from "../host/command";
import { HostFile } from "../host/file";
import type { HostTarget } from "../host/target";
import { GITLAB_CLIENTS_COMMENT } from "../policy/pack/checks";
import { CHAIN, DOCKER_CHAIN, FirewallRule, renderIptablesRules } from "./render";

/** Present while Docker owes a restart after firewalld's stop flushed its chains (install.sh). */
const DOCKER_OWED = "/var/lib/gitlab-ha/docker-restart-after-firewalld";
const RULES_FILES = { 4: "/etc/gitlab-ha/iptables.rules", 6: "/etc/gitlab-ha/ip6tables.rules" } as const;
/** What restores the saved rules at boot: iptables-persistent (apt) or iptables-services (dnf). */
const PERSIST_FILES = {
  apt: { 4: "/etc/iptables/rules.v4", 6: "/etc/iptables/rules.v6" },
  dnf: { 4: "/etc/sysconfig/iptables", 6: "/etc/sysconfig/ip6tables" },
} as const;

/**
 * The rules of one host, for both IP families (each family's file keeps its own sources, so an
 * IPv6 host or network is filtered by ip6tables exactly as an IPv4 one by iptables).
 */
export function firewallRules(stack: StackConfig, host: HostConfig): FirewallRule[] {
  const uniq = (xs: readonly string[]) => [...new Set(xs)];
  const addresses = (hs: readonly HostConfig[]) => hs.filter((h) => h.name !== host.name).flatMap((h) => [h.address, ...h.sourceAddresses]);
  const withRole = (...roles: string[]) => stack.hosts.filter((h) => h.roles.some((r) => roles.includes(r)));
  const has = (...roles: string[]) => host.roles.some((r) => roles.includes(r));
  const rules: FirewallRule[] = [];
  const add = (comment: string, ports: FirewallRule["ports"], sources: string[], o: { protocol?: "tcp" | "udp"; docker?: boolean } = {}) => {
    const s = uniq(sources);
    if (s.length) rules.push({ comment, protocol: o.protocol ?? "tcp", ports, sources: s, ...(o.docker ? { docker: true } : {}) });
  };
  // Inside lab containers sshd listens on 22; the configured port is the published one.
  add("ssh from admin networks", [stack.lab ? 22 : host.ssh.port ?? stack.ssh.port], stack.firewall.adminNetworks);
  if (has("postgres-primary", "postgres-standby")) {
    add("postgresql replication from database peers", [stack.postgres.port], addresses(withRole("postgres-primary", "postgres-standby")));
    add("postgresql from gitlab hosts", [stack.postgres.port], addresses(withRole("gitlab")));
  }
  if (has("gitlab")) {
    const p = stack.gitlab.ports;
    // The one rule the policy lets admit everyone (GITLAB_CLIENTS_COMMENT). Docker publishes these
    // ports, so they are filtered where Docker's forwarded traffic passes as well.
    add(`${GITLAB_CLIENTS_COMMENT} http https ssh`, [p.http, p.https, p.ssh], stack.firewall.gitlabClientNetworks, { docker: true });
  }
  if (stack.drbd && has("drbd", "drbd-tiebreaker")) {
    add(`drbd ${stack.drbd.resource} from drbd peers`, [stack.drbd.port], addresses(withRole("drbd", "drbd-tiebreaker")));
    // The sentinel talks between the GitLab data nodes only: the witness runs none.
    if (has("drbd") && stack.failover.engine === "sentinel") add("git_sentinel from drbd data nodes", [stack.failover.sentinel.port], addresses(withRole("drbd")));
  }
  for (const x of stack.firewall.extraRules) {
    if (!has(...x.roles)) continue;
    const ports = x.ports.map((p) => (typeof p === "number" ? p : (p.split("-").map(Number) as [number, number])));
    add(`extra: ${x.name}`, ports, x.sources, { protocol: x.protocol });
  }
  return rules;
}

export interface FirewallArgs {
  readonly stack: StackConfig;
  readonly hosts: readonly HostTarget[];
}

export class Firewall extends pulumi.ComponentResource {
  /**
   * Last step on each host: firewalld masked (Docker restarted if its stop flushed Docker's chains)
   * and the rules applied. Containers and DRBD's first connection wait for it.
   */
  public readonly ready: ReadonlyMap<string, remote.Command>;

  constructor(name: string, args: FirewallArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:firewall:Firewall", name, {}, opts);
    const ready = new Map<string, remote.Command>();
    for (const h of args.hosts) {
      const base = `${name}-${h.name}`;
      const install = hostCommand(
        `${base}-install`,
        { host: h, script: { description: "install the OS's iptables persistence, mask firewalld", vars: { OS_FAMILY: h.family, DOCKER_OWED }, bodies: ["components/firewall/scripts/install.sh"] } },
        { parent: this },
      );
      const rules = firewallRules(args.stack, h.config);
      const files = ([4, 6] as const).map(
        (family) =>
          new HostFile(
            `${base}-rules${family === 4 ? "" : "6"}`,
            { host: h, path: RULES_FILES[family], content: renderIptablesRules({ host: h.name, rules }, family), mode: "0600", owner: "root", group: "root", createDirectory: true },
            { parent: this, dependsOn: [install] },
          ),
      );
      const apply = hostCommand(
        `${base}-apply`,
        {
          host: h,
          script: {
            description: `apply chains ${CHAIN} and ${DOCKER_CHAIN} (IPv4 and IPv6) and persist them`,
            vars: {
              RULES_FILE: RULES_FILES[4],
              RULES_FILE6: RULES_FILES[6],
              CHAIN,
              DOCKER_CHAIN,
              PERSIST_FILE: PERSIST_FILES[h.family][4],
              PERSIST_FILE6: PERSIST_FILES[h.family][6],
              SSH_SOURCES: [...args.stack.firewall.adminNetworks],
            },
            bodies: ["components/firewall/scripts/apply.sh"],
          },
          triggers: files.map((f) => f.contentHash),
        },
        { parent: this, dependsOn: files },
      );
      ready.set(h.name, apply);
    }
    this.ready = ready;
    this.registerOutputs({});
  }
}
