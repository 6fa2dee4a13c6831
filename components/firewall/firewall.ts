// Per-host firewall, derived from the roles in the config (never a hand-kept port list): each
// service port is open only to the hosts that use it, SSH only to the admin networks.
import { isIP } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import type { HostConfig, StackConfig } from "../config/schema";
import { hostCommand } from "../host/command";
import { HostFile } from "../host/file";
import type { HostTarget } from "../host/target";
import { GITLAB_CLIENTS_COMMENT } from "../policy/policies";
import { CHAIN, FirewallRule, renderIptablesRules } from "./render";

const RULES_FILE = "/etc/gitlab-ha/iptables.rules";

/** The rules of one host. IPv4 only: IPv6 traffic is not filtered by this program. */
export function firewallRules(stack: StackConfig, host: HostConfig): FirewallRule[] {
  const v4 = (xs: readonly string[]) => [...new Set(xs.filter((x) => isIP(x.split("/")[0]!) === 4))];
  const addresses = (hs: readonly HostConfig[]) => hs.filter((h) => h.name !== host.name).flatMap((h) => [h.address, ...h.sourceAddresses]);
  const withRole = (...roles: string[]) => stack.hosts.filter((h) => h.roles.some((r) => roles.includes(r)));
  const has = (...roles: string[]) => host.roles.some((r) => roles.includes(r));
  const rules: FirewallRule[] = [];
  const add = (comment: string, ports: number[], sources: string[]) => {
    const s = v4(sources);
    if (s.length) rules.push({ comment, protocol: "tcp", ports, sources: s });
  };
  // Inside lab containers sshd listens on 22; the configured port is the published one.
  add("ssh from admin networks", [stack.lab ? 22 : host.ssh.port ?? stack.ssh.port], stack.firewall.adminNetworks);
  if (has("postgres-primary", "postgres-standby")) {
    add("postgresql replication from database peers", [stack.postgres.port], addresses(withRole("postgres-primary", "postgres-standby")));
    add("postgresql from gitlab hosts", [stack.postgres.port], addresses(withRole("gitlab")));
  }
  if (has("gitlab")) {
    const p = stack.gitlab.ports;
    // The one rule the policy lets admit everyone (GITLAB_CLIENTS_COMMENT).
    add(`${GITLAB_CLIENTS_COMMENT} http https ssh`, [p.http, p.https, p.ssh], stack.firewall.gitlabClientNetworks);
  }
  if (stack.drbd && has("drbd", "drbd-tiebreaker")) {
    const peers = addresses(withRole("drbd", "drbd-tiebreaker"));
    add(`drbd ${stack.drbd.resource} from drbd peers`, [stack.drbd.port], peers);
    if (has("drbd") && stack.failover.engine === "sentinel") add("git_sentinel from drbd peers", [stack.failover.sentinel.port], peers);
  }
  return rules;
}

export interface FirewallArgs {
  readonly stack: StackConfig;
  readonly hosts: readonly HostTarget[];
}

export class Firewall extends pulumi.ComponentResource {
  constructor(name: string, args: FirewallArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:firewall:Firewall", name, {}, opts);
    for (const h of args.hosts) {
      const base = `${name}-${h.name}`;
      const install = hostCommand(
        `${base}-install`,
        { host: h, script: { description: "install the OS's iptables persistence", vars: { OS_FAMILY: h.family }, bodies: ["components/firewall/scripts/install.sh"] } },
        { parent: this },
      );
      const rules = new HostFile(
        `${base}-rules`,
        { host: h, path: RULES_FILE, content: renderIptablesRules({ host: h.name, rules: firewallRules(args.stack, h.config) }), mode: "0600", owner: "root", group: "root", createDirectory: true },
        { parent: this, dependsOn: [install] },
      );
      hostCommand(
        `${base}-apply`,
        {
          host: h,
          script: {
            description: `apply chain ${CHAIN} and persist it`,
            vars: {
              RULES_FILE,
              CHAIN,
              PERSIST_FILE: h.family === "apt" ? "/etc/iptables/rules.v4" : "/etc/sysconfig/iptables",
              SSH_SOURCES: args.stack.firewall.adminNetworks.filter((n) => isIP(n.split("/")[0]!) === 4),
            },
            bodies: ["components/firewall/scripts/apply.sh"],
          },
          triggers: [rules.contentHash],
        },
        { parent: this, dependsOn: [rules] },
      );
    }
    this.registerOutputs({});
  }
}
