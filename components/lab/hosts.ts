// Lab hosts: each configured host becomes a systemd container on a Docker engine (the local one
// by default), on a network where it has its configured address, with its SSH port published on
// the bind address. Converging the lab stack creates them; destroying it removes them.
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { local } from "@pulumi/command";
import type { HostConfig, LabConfig } from "../config/schema";
import { readAsset } from "../host/assets";
import { publicKeyOf } from "./ssh-key";

const IMAGE_RECIPE = "components/lab/build-host-image.sh";
const SLOT_CHECK = "components/lab/scripts/slot-free.sh";

export interface LabHostsArgs {
  readonly lab: LabConfig;
  readonly hosts: readonly HostConfig[];
  /** SSH private key of the stack; its public half is authorised for root on every lab host. */
  readonly sshPrivateKey: pulumi.Input<string>;
  /** Prefix of container names, so several lab stacks can share one engine. */
  readonly prefix: string;
  /** The stack's name, for the message that tells how to move a clashing stack to another slot. */
  readonly stack: string;
  /** Further host ports the stack publishes on the engine (GitLab's), checked free before anything is created. */
  readonly publishedPorts?: readonly number[];
  /** The stack's other containers on the engine (GitLab's), which may already publish those ports. */
  readonly ownContainers?: readonly string[];
  /**
   * Image reference the stack's GitLab containers use. No GitLab image can be pulled on lab
   * machines: the lab host image is tagged under this name as a stand-in (never started).
   */
  readonly gitlabStandIn?: string;
}

export class LabHosts extends pulumi.ComponentResource {
  /** The container of each host, by host name. */
  public readonly containers: ReadonlyMap<string, docker.Container>;
  public readonly image: string;
  /** The step that provides the GitLab stand-in image, when one is asked for. */
  public readonly gitlabStandIn?: local.Command;

  constructor(name: string, args: LabHostsArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:lab:Hosts", name, {}, opts);
    const { lab } = args;
    const provider = new docker.Provider(`${name}-engine`, { host: lab.dockerHost }, { parent: this });
    // The tag follows the recipe: a changed recipe builds a new image and replaces the hosts.
    const recipeHash = crypto.createHash("sha256").update(readAsset(IMAGE_RECIPE)).digest("hex").slice(0, 12);
    this.image = `${lab.image}:${recipeHash}`;
    const build = new local.Command(
      `${name}-image`,
      { create: `bash ${IMAGE_RECIPE} ${this.image}`, environment: { DOCKER_HOST: lab.dockerHost } },
      { parent: this },
    );
    if (args.gitlabStandIn) {
      this.gitlabStandIn = new local.Command(
        `${name}-gitlab-stand-in`,
        {
          create: `docker image inspect ${args.gitlabStandIn} >/dev/null 2>&1 || docker tag ${this.image} ${args.gitlabStandIn}`,
          environment: { DOCKER_HOST: lab.dockerHost },
        },
        { parent: this, dependsOn: [build] },
      );
    }
    // Two stack names can derive one slot: say so, and how to move, before Docker refuses the
    // network with "Pool overlaps" (see components/lab/slots.ts).
    const ports = [...args.hosts.map((h) => h.ssh.port!), ...(args.publishedPorts ?? [])];
    const slotCheck = new local.Command(
      `${name}-slot-free`,
      {
        create: `bash ${SLOT_CHECK} ${[args.stack, lab.slot ?? "-", lab.network.name, lab.network.subnet, ...ports].join(" ")}`,
        environment: { DOCKER_HOST: lab.dockerHost, OWN_CONTAINERS: [...args.hosts.map((h) => `${args.prefix}-${h.name}`), ...(args.ownContainers ?? [])].join(" ") },
      },
      { parent: this },
    );
    const network = new docker.Network(
      `${name}-network`,
      { name: lab.network.name, driver: "bridge", ipamConfigs: [{ subnet: lab.network.subnet }] },
      { parent: this, provider, dependsOn: [slotCheck] },
    );
    const authorizedKeys = pulumi.output(args.sshPrivateKey).apply((k) => `${publicKeyOf(k)}\n`);
    const containers = new Map<string, docker.Container>();
    for (const host of args.hosts) {
      containers.set(
        host.name,
        new docker.Container(
          `${name}-${host.name}`,
          {
            name: `${args.prefix}-${host.name}`,
            hostname: host.name,
            image: this.image,
            command: ["/sbin/init"],
            // systemd as PID 1 without --privileged: the set that works on this kind of engine.
            // As Docker stores them (HostConfig.CapAdd: CAP_ prefix, sorted): the real provider reads
            // them back so on refresh, and the short names then planned a replacement of every host.
            capabilities: { adds: ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"] },
            securityOpts: ["seccomp=unconfined", "apparmor=unconfined"],
            tmpfs: { "/run": "", "/run/lock": "" },
            volumes: [{ hostPath: "/sys/fs/cgroup", containerPath: "/sys/fs/cgroup", readOnly: true }],
            networksAdvanced: [{ name: network.name, ipv4Address: host.address }],
            ports: [{ internal: 22, external: host.ssh.port!, ip: lab.sshBindAddress }],
            uploads: [{ file: "/root/.ssh/authorized_keys", content: authorizedKeys, permissions: "0600" }],
            restart: "unless-stopped",
            labels: [{ label: "gitlab-ha.lab", value: args.prefix }],
          },
          { parent: this, provider, dependsOn: [build], deleteBeforeReplace: true },
        ),
      );
    }
    this.containers = containers;
    this.registerOutputs({ image: this.image });
  }
}
