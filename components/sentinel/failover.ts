// Who starts GitLab on the DRBD data nodes (runbook sections 5 and 6): the git_sentinel unit,
// or drbd-reactor's promoter. Either way GitLab's own unit is disabled at boot and a drop-in makes
// it refuse to start where the volume is not mounted; with the sentinel another drop-in orders it
// after the sentinel. Drop-ins, never edits of the packaged unit.
import * as pulumi from "@pulumi/pulumi";
import type { DrbdConfig, FailoverConfig } from "../config/schema";
import { hostCommand } from "../host/command";
import { HostFile } from "../host/file";
import type { HostTarget } from "../host/target";
import * as path from "node:path";
import {
  GITLAB_GUARD_DROP_IN,
  mountUnitOf,
  renderFailoverContract,
  renderGitlabAfterSentinelDropIn,
  renderGitlabGuardDropIn,
  renderPromoterConfig,
  renderSentinelUnit,
  SENTINEL_UNIT,
} from "./render";

export interface FailoverArgs {
  readonly failover: FailoverConfig;
  readonly drbd: DrbdConfig;
  /**
   * DRBD data nodes, each with the step after which its volume configuration is in place and
   * (startAfter) what must exist before the engine may start GitLab there: GitLab's unit, its
   * data directories and its container (components/gitlab/node.ts).
   */
  readonly nodes: readonly { readonly host: HostTarget; readonly after: pulumi.Resource; readonly startAfter?: readonly pulumi.Resource[] }[];
}

export { mountUnitOf };

export function renderMountUnit(d: DrbdConfig): string {
  return [
    "# Managed by gitlab-ha (components/sentinel): started by drbd-reactor's promoter where the volume is primary.",
    "[Unit]",
    `Description=GitLab volume ${d.device} on ${d.mountPoint}`,
    "[Mount]",
    `What=${d.device}`,
    `Where=${d.mountPoint}`,
    `Type=${d.filesystem}`,
    "",
  ].join("\n");
}

const PROMOTER_FILE = "/etc/drbd-reactor.d/gitlab-ha.toml";
/** The failover contract's file name: next to the sentinel, or in /etc/gitlab-ha with drbd-reactor. */
export const CONTRACT_FILE = "gitlab-ha-failover-contract.txt";

export class Failover extends pulumi.ComponentResource {
  constructor(name: string, args: FailoverArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:failover:Failover", name, {}, opts);
    const f = args.failover;
    for (const { host, after, startAfter = [] } of args.nodes) {
      const base = `${name}-${host.name}`;
      const file = (suffix: string, path: string, content: string) =>
        new HostFile(`${base}-${suffix}`, { host, path, content, mode: "0644", owner: "root", group: "root", createDirectory: true }, { parent: this, dependsOn: [after] });
      // The contract the engine keeps, written where a reviewer (and the sentinel's authors) look.
      const contract = renderFailoverContract({
        engine: f.engine,
        resource: args.drbd.resource,
        device: args.drbd.device,
        mountPoint: args.drbd.mountPoint,
        gitlabUnit: f.gitlabUnit,
        sentinelExec: f.sentinel.execStart,
      });
      file("contract", f.engine === "sentinel" ? path.posix.join(path.posix.dirname(f.sentinel.execStart), CONTRACT_FILE) : `/etc/gitlab-ha/${CONTRACT_FILE}`, contract);
      // Either engine: GitLab's unit refuses to start where the volume is not mounted.
      const guard = file("gitlab-guard", `/etc/systemd/system/${f.gitlabUnit}.d/${GITLAB_GUARD_DROP_IN}`, renderGitlabGuardDropIn({ mountPoint: args.drbd.mountPoint, engine: f.engine }));
      if (f.engine === "sentinel") {
        const files = [
          file("unit", `/etc/systemd/system/${SENTINEL_UNIT}`, renderSentinelUnit({ execStart: f.sentinel.execStart })),
          file("gitlab-after", `/etc/systemd/system/${f.gitlabUnit}.d/50-gitlab-ha-after-sentinel.conf`, renderGitlabAfterSentinelDropIn()),
          guard,
        ];
        hostCommand(
          `${base}-enable`,
          {
            host,
            script: {
              description: `enable ${SENTINEL_UNIT}; ${f.gitlabUnit} off at boot`,
              vars: { SENTINEL_UNIT, SENTINEL_EXEC: f.sentinel.execStart, GITLAB_UNIT: f.gitlabUnit },
              bodies: ["components/sentinel/scripts/enable.sh"],
            },
            triggers: files.map((x) => x.contentHash),
          },
          // The engine starts GitLab's unit at once where the volume is primary: started before the
          // unit, the container or the data directories exist, the start fails, drbd-reactor stops
          // its target and with it the PartOf mount, and the volume step then finds no volume.
          { parent: this, dependsOn: [...files, ...startAfter] },
        );
      } else {
        const mount = mountUnitOf(args.drbd.mountPoint);
        const files = [
          file("mount", `/etc/systemd/system/${mount}`, renderMountUnit(args.drbd)),
          file("promoter", PROMOTER_FILE, renderPromoterConfig({ resource: args.drbd.resource, start: [mount, f.gitlabUnit] })),
          guard,
        ];
        hostCommand(
          `${base}-enable`,
          {
            host,
            script: {
              description: `drbd-reactor promotes ${args.drbd.resource} and starts GitLab; ${f.gitlabUnit} off at boot`,
              vars: { OS_FAMILY: host.family, GITLAB_UNIT: f.gitlabUnit, MOUNT_UNIT: mount, PROMOTER_FILE },
              bodies: ["components/sentinel/scripts/reactor.sh"],
            },
            triggers: files.map((x) => x.contentHash),
          },
          // The engine starts GitLab's unit at once where the volume is primary: started before the
          // unit, the container or the data directories exist, the start fails, drbd-reactor stops
          // its target and with it the PartOf mount, and the volume step then finds no volume.
          { parent: this, dependsOn: [...files, ...startAfter] },
        );
      }
    }
    this.registerOutputs({});
  }
}
