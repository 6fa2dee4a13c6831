// The replicated volume GitLab lives on (runbook section 5): DRBD packages and configuration on
// every DRBD node, validated by drbdadm on the node itself, the tiebreaker kept up diskless by an
// enabled unit, then the one-time initialisation of the data nodes and GitLab's directories
// placed on the volume.
import * as pulumi from "@pulumi/pulumi";
import type { remote } from "@pulumi/command";
import type { DrbdConfig } from "../config/schema";
import { hostCommand } from "../host/command";
import { HostFile } from "../host/file";
import type { HostTarget } from "../host/target";
import { renderGlobalCommon, renderResource, renderTiebreakerUnit, tiebreakerUnit } from "./render";

/** Seconds the initial primary waits for every data node to connect before refusing to force. */
const CONNECT_WAIT = 120;
/** Written by the first `primary --force`; its presence forbids another. */
const markerOf = (resource: string) => `/var/lib/gitlab-ha/drbd-${resource}.first-primary`;

export interface DrbdResourceArgs {
  readonly drbd: DrbdConfig;
  /** Nodes with a disk (role drbd). */
  readonly dataNodes: readonly HostTarget[];
  /** Diskless quorum nodes (role drbd-tiebreaker). */
  readonly tiebreakers: readonly HostTarget[];
  /**
   * Per host, what must be in place before the resource connects: the firewall (on EL, firewalld
   * blocks the DRBD port until it is masked, and init waits for its peers).
   */
  readonly before?: ReadonlyMap<string, readonly pulumi.Resource[]>;
}

export class DrbdResource extends pulumi.ComponentResource {
  /** Last step on each data node: the volume's configuration is in place (and, when activated, up). */
  public readonly ready: ReadonlyMap<string, remote.Command>;

  constructor(name: string, args: DrbdResourceArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:drbd:Resource", name, {}, opts);
    const d = args.drbd;
    const nodes = [...args.dataNodes, ...args.tiebreakers];
    const resourceFile = renderResource(
      d,
      nodes.map((h) => ({ name: h.name, address: h.config.address, nodeId: h.config.drbd!.nodeId, ...(h.config.drbd!.disk ? { disk: h.config.drbd!.disk } : {}) })),
    );
    const vars = (h: HostTarget) => ({
      OS_FAMILY: h.family,
      RESOURCE: d.resource,
      DEVICE: d.device,
      DISK: h.config.drbd?.disk ?? "",
      MOUNT_POINT: d.mountPoint,
    });

    const before = (h: HostTarget) => args.before?.get(h.name) ?? [];
    const checked = new Map<string, remote.Command>();
    const files = new Map<string, HostFile[]>();
    for (const h of nodes) {
      const base = `${name}-${h.name}`;
      const packages = h.family === "apt" ? ["drbd-utils"] : ["drbd9x-utils"];
      if (d.modulePackage) packages.push(d.modulePackage);
      const install = hostCommand(
        `${base}-install`,
        { host: h, script: { description: `install DRBD tools, keep drbd.service off at boot`, vars: { ...vars(h), PACKAGES: packages }, bodies: ["components/drbd/scripts/install.sh"] } },
        { parent: this },
      );
      const file = (suffix: string, path: string, content: string) =>
        new HostFile(`${base}-${suffix}`, { host: h, path, content, mode: "0644", owner: "root", group: "root" }, { parent: this, dependsOn: [install] });
      const written = [file("global", "/etc/drbd.d/global_common.conf", renderGlobalCommon(d)), file("res", `/etc/drbd.d/${d.resource}.res`, resourceFile)];
      files.set(h.name, written);
      checked.set(
        h.name,
        hostCommand(
          `${base}-check`,
          {
            host: h,
            script: { description: `validate DRBD resource ${d.resource} with drbdadm; no fstab mount`, vars: vars(h), bodies: ["components/drbd/scripts/check.sh"] },
            triggers: written.map((f) => f.contentHash),
          },
          { parent: this, dependsOn: written },
        ),
      );
    }

    // The tiebreaker's vote counts only once it has connected (see renderTiebreakerUnit): its
    // resource is up, and kept up at boot by an enabled unit, before the first promotion.
    const votes: remote.Command[] = [];
    for (const h of args.tiebreakers) {
      const base = `${name}-${h.name}`;
      const unit = tiebreakerUnit(d.resource);
      const unitFile = new HostFile(
        `${base}-unit`,
        { host: h, path: `/etc/systemd/system/${unit}`, content: renderTiebreakerUnit(d.resource), mode: "0644", owner: "root", group: "root" },
        { parent: this, dependsOn: [checked.get(h.name)!] },
      );
      votes.push(
        hostCommand(
          `${base}-up`,
          {
            host: h,
            script: {
              description: `keep DRBD resource ${d.resource} up diskless at boot (tiebreaker)`,
              vars: { ...vars(h), UNIT: unit, ACTIVATE: d.activate },
              bodies: ["components/drbd/scripts/tiebreaker.sh"],
            },
            triggers: [unitFile.contentHash],
          },
          { parent: this, dependsOn: [unitFile, ...before(h)] },
        ),
      );
    }

    // Peers first, so that the initial primary finds them up and syncs to them at once.
    const ordered = [...args.dataNodes].sort((a, b) => Number(a.name === d.initialPrimary) - Number(b.name === d.initialPrimary));
    const inits: remote.Command[] = [];
    const ready = new Map<string, remote.Command>();
    for (const h of ordered) {
      const base = `${name}-${h.name}`;
      const initial = h.name === d.initialPrimary;
      const init = hostCommand(
        `${base}-init`,
        {
          host: h,
          script: {
            description: `initialise DRBD resource ${d.resource} once${initial ? " (initial primary)" : ""}`,
            vars: {
              ...vars(h),
              MAX_PEERS: d.maxPeers,
              ACTIVATE: d.activate,
              INITIAL_PRIMARY: initial,
              FILESYSTEM: d.filesystem,
              DATA_PEERS: args.dataNodes.filter((p) => p.name !== h.name).map((p) => p.name),
              MARKER: markerOf(d.resource),
              CONNECT_WAIT,
            },
            bodies: ["components/drbd/scripts/init.sh"],
          },
        },
        // Never two initialisations of one disk at once.
        { parent: this, dependsOn: [checked.get(h.name)!, ...(initial ? inits : []), ...votes, ...before(h)], deleteBeforeReplace: true },
      );
      inits.push(init);
      ready.set(
        h.name,
        hostCommand(
          `${base}-links`,
          {
            host: h,
            script: { description: `place GitLab's directories on ${d.mountPoint}`, vars: { ...vars(h), GITLAB_DIRS: d.gitlabDirectories }, bodies: ["components/drbd/scripts/links.sh"] },
          },
          { parent: this, dependsOn: [init] },
        ),
      );
    }
    // A changed resource file or global_common.conf reaches the running resource only through
    // adjust, on every node once it is up (after init or the tiebreaker's unit).
    const upSteps = new Map<string, remote.Command>([...args.tiebreakers.map((h, i) => [h.name, votes[i]!] as const), ...ordered.map((h, i) => [h.name, inits[i]!] as const)]);
    for (const h of nodes) {
      const base = `${name}-${h.name}`;
      hostCommand(
        `${base}-adjust`,
        {
          host: h,
          script: {
            description: `apply changed DRBD configuration to ${d.resource} (drbdadm adjust, disruptive plans refused while in use)`,
            vars: { ...vars(h), ACTIVATE: d.activate },
            bodies: ["components/drbd/scripts/adjust.sh"],
          },
          triggers: files.get(h.name)!.map((f) => f.contentHash),
        },
        { parent: this, dependsOn: [checked.get(h.name)!, upSteps.get(h.name)!] },
      );
    }
    this.ready = ready;
    this.registerOutputs({});
  }
}
