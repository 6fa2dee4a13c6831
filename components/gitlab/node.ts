// GitLab on one node: the Omnibus container on the node's Docker engine, configured against the
// external PostgreSQL primary. On DRBD nodes Pulumi only creates it: the unit gitlab-container
// starts it, and only the failover engine starts that unit, where the volume is mounted.
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { local } from "@pulumi/command";
import type { StackConfig } from "../config/schema";
import { hostCommand } from "../host/command";
import { HostFile } from "../host/file";
import type { HostTarget } from "../host/target";
import { renderOmnibusConfig } from "./omnibus";
import { gitlabLoad, writtenPumaWorkers } from "../postgres/sizing";
import { commandLine, type HostScript } from "../host/script";

export const GITLAB_CONTAINER_UNIT = "gitlab-container.service";

/** The GitLab image reference: `<repository>:<version>-<edition>.0`, GitLab's own tag scheme. */
export const gitlabImageOf = (g: StackConfig["gitlab"]) => `${g.image ?? `gitlab/gitlab-${g.edition}`}:${g.version}-${g.edition}.0`;
const DB_PASSWORD_FILE = "/etc/gitlab-ha/db_password";
/** The container's directories, bind-mounted from <volumeRoot><path>. */
export const GITLAB_DATA_DIRS = ["/etc/gitlab", "/var/opt/gitlab", "/var/log/gitlab"] as const;
/** How long GitLab gets to stop (docker stop --time) before Docker kills it: unit and provider alike. */
export const STOP_GRACE_SECONDS = 300;

export interface GitlabNodeArgs {
  readonly host: HostTarget;
  readonly stack: StackConfig;
  /** The gitlab role's password (secret); uploaded into the container as a 0600 file. */
  readonly dbPassword: pulumi.Input<string>;
  /** Docker engine of the node: ssh://... for remote nodes, the local engine in the lab. */
  readonly engine: { readonly host: string; readonly sshOpts?: string[] };
  /** The container is created but left to the failover engine to start (DRBD nodes). */
  readonly startedByFailover: boolean;
  /** Host directory under which /etc/gitlab, /var/opt/gitlab and /var/log/gitlab live. */
  readonly volumeRoot: string;
  /** Container name: "gitlab" on a node's own engine; unique per node when nodes share one (lab). */
  readonly containerName: string;
  /** Resources to wait for: the database, the volume, a lab stand-in image. */
  readonly after: readonly pulumi.Resource[];
  /**
   * The engine runs on the machine running Pulumi, not on the node (lab): the bind sources are
   * made there. Lab nodes have no mounted DRBD volume and their containers are never started.
   */
  readonly engineIsLocal?: boolean;
}

/** gitlab.rb on the host: /etc/gitlab/gitlab.rb of the container, under its bind source. */
export const gitlabConfigPath = (volumeRoot: string) => `${volumeRoot}/etc/gitlab/gitlab.rb`;

export function renderContainerUnit(container: string): string {
  return [
    "# Managed by gitlab-ha (components/gitlab): runs the GitLab container. Disabled at boot; the",
    "# failover engine starts it on the node where the DRBD volume is primary.",
    "[Unit]",
    "Description=GitLab container",
    "Requires=docker.service",
    "After=docker.service",
    "[Service]",
    `ExecStart=/usr/bin/docker start --attach ${container}`,
    `ExecStop=/usr/bin/docker stop --time ${STOP_GRACE_SECONDS} ${container}`,
    `TimeoutStopSec=${STOP_GRACE_SECONDS + 30}`,
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

export class GitlabNode extends pulumi.ComponentResource {
  public readonly container: docker.Container;

  private size(args: GitlabNodeArgs) {
    const h = args.host.config;
    return { name: h.name, drbd: h.roles.includes("drbd"), cpus: h.cpus, memoryMiB: h.memoryMiB };
  }

  constructor(name: string, args: GitlabNodeArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:gitlab:Node", name, {}, opts);
    const g = args.stack.gitlab;
    const pg = args.stack.postgres;
    const primary = args.stack.hosts.find((h) => h.roles.includes("postgres-primary"))!;
    const omnibus = renderOmnibusConfig({
      externalUrl: g.externalUrl!,
      db: { host: primary.address, port: pg.port, database: pg.database, username: pg.gitlabUser, version: pg.version },
      dbPasswordFile: DB_PASSWORD_FILE,
      sshPort: g.ports.ssh,
      backup: g.backup,
      tls: g.tls,
      load: { puma: { workerProcesses: writtenPumaWorkers(this.size(args), gitlabLoad(args.stack.hosts, g)), maxThreads: g.puma.maxThreads }, sidekiq: g.sidekiq },
      extra: g.extraConfig,
    });
    const provider = new docker.Provider(`${name}-engine`, { host: args.engine.host, ...(args.engine.sshOpts ? { sshOpts: args.engine.sshOpts } : {}) }, { parent: this });
    const after: pulumi.Resource[] = [...args.after];
    if (args.startedByFailover) {
      // Under failover.gitlabUnit: the drop-ins, the start step and recovery all name that unit.
      after.push(
        new HostFile(
          `${name}-unit`,
          { host: args.host, path: `/etc/systemd/system/${args.stack.failover.gitlabUnit}`, content: renderContainerUnit(args.containerName), mode: "0644", owner: "root", group: "root" },
          { parent: this, dependsOn: [...args.after] },
        ),
      );
    }
    // The bind sources exist before the container is created (Docker refuses a missing one). The
    // step runs again whenever the container would be replaced: which node holds the volume then
    // decides between directories and placeholders. gitlab.rb is no input of the container.
    const drbd = args.stack.drbd;
    const sources = GITLAB_DATA_DIRS.map((d) => `${args.volumeRoot}${d}`);
    const containerShape = crypto
      .createHash("sha256")
      .update(JSON.stringify([gitlabImageOf(g), g.ports, g.shmSize, args.containerName, args.volumeRoot, g.externalUrl]))
      .digest("hex");
    // Lab engines run on the machine running Pulumi, where the bind sources are: steps run there.
    const step = (stepName: string, script: Omit<HostScript, "host">, more: { stdin?: string; triggers?: unknown[] }, dependsOn: pulumi.Resource[]) =>
      args.engineIsLocal
        ? new local.Command(stepName, { create: commandLine({ ...script, host: "localhost" }, false), ...more, addPreviousOutputInEnv: false }, { parent: this, dependsOn })
        : hostCommand(stepName, { host: args.host, script, ...more }, { parent: this, dependsOn });
    const volume = args.engineIsLocal
        ? new local.Command(`${name}-volume`, { create: `install -d -m 0755 ${sources.join(" ")}` }, { parent: this, dependsOn: [...args.after] })
        : hostCommand(
            `${name}-volume`,
            {
              host: args.host,
              script: {
                description: `GitLab's data directories under ${args.volumeRoot}`,
                vars: {
                  VOLUME_ROOT: args.volumeRoot,
                  DIRS: [...GITLAB_DATA_DIRS],
                  ON_DRBD: args.startedByFailover && drbd ? "yes" : "no",
                  MOUNT_POINT: drbd?.mountPoint ?? "",
                  DRBD_DEVICE: drbd?.device ?? "",
                },
                bodies: ["components/gitlab/scripts/volume.sh"],
              },
              triggers: [containerShape],
            },
            { parent: this, dependsOn: [...args.after] },
          );
    after.push(volume);
    // gitlab.rb as a file on the volume (/etc/gitlab of the container), before the container
    // first starts; a change updates this step and re-runs the reconfigure step, never the container.
    const onDrbd = args.startedByFailover && drbd && !args.engineIsLocal;
    const where = { CONFIG_PATH: gitlabConfigPath(args.volumeRoot), ON_DRBD: onDrbd ? "yes" : "no", MOUNT_POINT: drbd?.mountPoint ?? "", DRBD_DEVICE: drbd?.device ?? "" };
    const config = step(
      `${name}-config`,
      { description: `gitlab.rb at ${where.CONFIG_PATH}`, vars: where, bodies: ["components/gitlab/scripts/config.sh"] },
      { stdin: omnibus },
      [volume],
    );
    after.push(config);
    this.container = new docker.Container(
      `${name}-container`,
      {
        name: args.containerName,
        hostname: new URL(g.externalUrl!).hostname,
        image: gitlabImageOf(g),
        ports: [
          { internal: 80, external: g.ports.http },
          { internal: 443, external: g.ports.https },
          { internal: 22, external: g.ports.ssh },
        ],
        shmSize: g.shmSize,
        restart: args.startedByFailover ? "no" : "always",
        start: !args.startedByFailover,
        // A container created stopped must say so: the provider deletes a container it reads back
        // not running while must_run is true (the default), failing the create (kreuzwerker
        // resource_docker_container_funcs.go resourceDockerContainerRead).
        mustRun: !args.startedByFailover,
        // Durations as Go's time.Duration prints them and startInterval spelled out: the real
        // provider reads the healthcheck back in that form on refresh, and "60s" or a left-out
        // default then planned `~healthcheck` on every up (seen in the lab, refresh + preview).
        healthcheck: { tests: ["CMD", "/opt/gitlab/bin/gitlab-healthcheck", "--fail", "--max-time", "10"], interval: "1m0s", timeout: "30s", retries: 5, startPeriod: "10m0s", startInterval: "0s" },
        // Type bind through Docker's Mounts API (kreuzwerker resource_docker_container_funcs.go maps
        // `mounts` to mount.Mount): a missing source is an error, where `volumes` (-v) would create
        // an empty directory and start a blank GitLab.
        mounts: GITLAB_DATA_DIRS.map((d) => ({ type: "bind", source: `${args.volumeRoot}${d}`, target: d })),
        uploads: [{ file: DB_PASSWORD_FILE, content: pulumi.secret(args.dbPassword), permissions: "0600" }],
        // Without it the provider stops a replaced container with a timeout of 0, i.e. kills GitLab
        // (kreuzwerker resourceDockerContainerDelete: ContainerStop with destroy_grace_seconds).
        destroyGraceSeconds: STOP_GRACE_SECONDS,
      },
      // One container of that name per engine: the old one goes before the new one comes.
      { parent: this, provider, dependsOn: [...after], deleteBeforeReplace: true },
    );
    // Reconfigure in the running container when gitlab.rb changed (its hash is the trigger).
    const configHash = crypto.createHash("sha256").update(omnibus).digest("hex");
    step(
      `${name}-reconfigure`,
      {
        description: `gitlab-ctl reconfigure in ${args.containerName} when ${where.CONFIG_PATH} changed`,
        vars: { ...where, CONFIG_SHA256: configHash, CONTAINER: args.containerName },
        bodies: ["components/gitlab/scripts/reconfigure.sh"],
      },
      { triggers: [configHash] },
      [config, this.container],
    );
    if (args.startedByFailover && drbd) {
      // A replaced container is started again where the volume is, through the failover's unit.
      hostCommand(
        `${name}-start`,
        {
          host: args.host,
          script: {
            description: `start ${args.stack.failover.gitlabUnit} again where ${drbd.device} is mounted`,
            vars: { MOUNT_POINT: drbd.mountPoint, DRBD_DEVICE: drbd.device, GITLAB_UNIT: args.stack.failover.gitlabUnit },
            bodies: ["components/gitlab/scripts/start-after-replace.sh"],
          },
          triggers: [this.container.id],
        },
        { parent: this, dependsOn: [this.container] },
      );
    }
    this.registerOutputs({});
  }
}
