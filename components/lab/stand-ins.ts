// Lab-only stand-ins for what a real GitLab node has and a container lacks: a spare disk for DRBD
// and the operators' git_sentinel binary. Named as stand-ins wherever they appear.
import * as pulumi from "@pulumi/pulumi";
import type { remote } from "@pulumi/command";
import { readAsset } from "../host/assets";
import { hostCommand } from "../host/command";
import { HostFile } from "../host/file";
import type { HostTarget } from "../host/target";

export interface LabStandInsArgs {
  /** Data nodes of the DRBD resource: each gets a file-backed disk at its configured path. */
  readonly drbdDataNodes: readonly HostTarget[];
  /** Where the sentinel binary is expected (failover.sentinel.execStart), when the engine is the sentinel. */
  readonly sentinelPath?: string;
}

export class LabStandIns extends pulumi.ComponentResource {
  /** Stand-ins per host, to be in place before the host's real steps. */
  public readonly byHost: ReadonlyMap<string, readonly pulumi.Resource[]>;

  constructor(name: string, args: LabStandInsArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:lab:StandIns", name, {}, opts);
    const byHost = new Map<string, pulumi.Resource[]>();
    for (const h of args.drbdDataNodes) {
      const list: pulumi.Resource[] = [
        hostCommand(
          `${name}-${h.name}-disk`,
          { host: h, script: { description: "lab stand-in disk for DRBD", vars: { DISK: h.config.drbd!.disk!, SIZE_MB: 256 }, bodies: ["components/lab/scripts/disk.sh"] } },
          { parent: this },
        ) as remote.Command,
      ];
      if (args.sentinelPath) {
        list.push(
          new HostFile(
            `${name}-${h.name}-sentinel`,
            { host: h, path: args.sentinelPath, content: readAsset("components/lab/scripts/git_sentinel.stand-in"), mode: "0755", owner: "root", group: "root", createDirectory: true },
            { parent: this },
          ),
        );
      }
      byHost.set(h.name, list);
    }
    this.byHost = byHost;
    this.registerOutputs({});
  }
}
