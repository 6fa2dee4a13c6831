// A host as the components see it: its config, how to reach it over SSH, and how to run as root.
import * as pulumi from "@pulumi/pulumi";
import type { types } from "@pulumi/command";
import { OsFamily, platform } from "../config/platforms";
import type { HostConfig, StackConfig } from "../config/schema";

export interface HostTarget {
  readonly name: string;
  readonly config: HostConfig;
  readonly family: OsFamily;
  readonly connection: pulumi.Input<types.input.remote.ConnectionArgs>;
  /** The SSH user is not root: scripts run under `sudo -n`. */
  readonly sudo: boolean;
  /** Resources that must exist before the host can be reached (lab containers). */
  readonly dependsOn: readonly pulumi.Resource[];
}

export interface SshCredential {
  readonly privateKey?: pulumi.Output<string>;
  readonly agentSocketPath?: string;
}

/** Where SSH connects for a host: its ssh.host, the lab's bind address, or its address. */
export function sshEndpoint(stack: StackConfig, host: HostConfig): { host: string; port: number } {
  return { host: host.ssh.host ?? (stack.lab ? stack.lab.sshBindAddress : host.address), port: host.ssh.port ?? stack.ssh.port };
}

/** Builds the targets of all hosts; `endpoint` overrides where SSH connects (lab port mapping). */
export function hostTargets(
  stack: StackConfig,
  credential: SshCredential,
  dependsOn: (host: HostConfig) => readonly pulumi.Resource[] = () => [],
): Map<string, HostTarget> {
  const ssh = stack.ssh;
  const auth = {
    ...(credential.privateKey ? { privateKey: credential.privateKey } : {}),
    ...(credential.agentSocketPath ? { agentSocketPath: credential.agentSocketPath } : {}),
  };
  const targets = new Map<string, HostTarget>();
  for (const host of stack.hosts) {
    const user = host.ssh.user ?? ssh.user;
    const connection: types.input.remote.ConnectionArgs = {
      ...sshEndpoint(stack, host),
      user,
      ...auth,
      ...(host.ssh.hostKey ? { hostKey: host.ssh.hostKey } : {}),
      dialErrorLimit: ssh.dialErrorLimit,
      perDialTimeout: ssh.perDialTimeoutSeconds,
      ...(ssh.bastion
        ? { proxy: { host: ssh.bastion.host, port: ssh.bastion.port, user: ssh.bastion.user ?? ssh.user, ...auth } }
        : {}),
    };
    targets.set(host.name, {
      name: host.name,
      config: host,
      family: platform(host.os).family,
      connection,
      sudo: user !== "root",
      dependsOn: dependsOn(host),
    });
  }
  return targets;
}

/**
 * The Docker engine of a host for @pulumi/docker: the lab's engine for lab hosts, else ssh:// to
 * the host itself (the provider runs the local ssh client: agent or key file, optional bastion).
 */
export function dockerEngine(stack: StackConfig, host: HostConfig): { host: string; sshOpts?: string[] } {
  if (stack.lab) return { host: stack.lab.dockerHost };
  const e = sshEndpoint(stack, host);
  const b = stack.ssh.bastion;
  const sshOpts = [
    ...(stack.ssh.privateKeyFile ? ["-i", stack.ssh.privateKeyFile] : []),
    ...(b ? ["-J", `${b.user ?? stack.ssh.user}@${b.host}:${b.port}`] : []),
    // The provider runs the system ssh client, which asks about an unknown host key, and nobody
    // answers under `pulumi up`: refuse unknown keys outright, from the configured file if any.
    ...(stack.ssh.knownHostsFile ? ["-o", `UserKnownHostsFile=${stack.ssh.knownHostsFile}`] : []),
    "-o",
    "StrictHostKeyChecking=yes",
  ];
  return { host: `ssh://${host.ssh.user ?? stack.ssh.user}@${e.host}:${e.port}`, sshOpts };
}
