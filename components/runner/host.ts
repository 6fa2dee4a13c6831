// gitlab-runner on a runner host: config.toml from the typed config (tokens filled in on the host
// by the register step, from stdin), and the runner container on the host's Docker engine. It
// re-reads config.toml every 3 s, so changing runners needs no restart.
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import type { RunnerConfig, RunnersConfig } from "../config/schema";
import { hostCommand } from "../host/command";
import { HostFile } from "../host/file";
import type { HostTarget } from "../host/target";
import { renderRunnerConfig } from "./render";

export interface RunnerHostArgs {
  readonly host: HostTarget;
  readonly runners: RunnersConfig;
  /** This host's runners. */
  readonly mine: readonly RunnerConfig[];
  readonly defaultUrl?: string;
  /** The runnerTokens secret (JSON), if set. */
  readonly tokens?: pulumi.Output<string>;
  readonly engine: { readonly host: string; readonly sshOpts?: string[] };
  /** gitlab.version: the runner version defaults to its major.minor. */
  readonly gitlabVersion?: string;
  /** Steps the container waits for: the host's firewall (masking firewalld flushes Docker's chains). */
  readonly after?: readonly pulumi.Resource[];
}

const DIR = "/etc/gitlab-runner";

/**
 * The gitlab-runner version: runners.version, else GitLab's major.minor with patch 0 (gitlab-runner
 * docs, "GitLab Runner versions": keep runner major.minor in step with GitLab's).
 */
export function runnerVersionOf(runners: RunnersConfig, gitlabVersion: string | undefined): string {
  if (runners.version) return runners.version;
  const m = /^(\d+)\.(\d+)\./.exec(gitlabVersion ?? "");
  if (!m) throw new Error("runners.version or gitlab.version is required (checked by the config rules)");
  return `${m[1]}.${m[2]}.0`;
}

/** stdin of the register step: "<name> token|registration <value>" per runner. */
export function tokenLines(tokensJson: string, names: readonly string[]): string {
  const tokens = JSON.parse(tokensJson) as Record<string, { token?: string; registrationToken?: string }>;
  return names.map((n) => (tokens[n]?.token ? `${n} token ${tokens[n]!.token}` : `${n} registration ${tokens[n]!.registrationToken}`)).join("\n") + "\n";
}

export class RunnerHost extends pulumi.ComponentResource {
  constructor(name: string, args: RunnerHostArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("gitlab-ha:runner:Host", name, {}, opts);
    const names = args.mine.map((r) => r.name);
    const template = new HostFile(
      `${name}-template`,
      { host: args.host, path: `${DIR}/config.toml.tmpl`, content: renderRunnerConfig(args.runners, args.mine, args.defaultUrl), mode: "0640", owner: "root", group: "root", createDirectory: true },
      { parent: this },
    );
    const register = hostCommand(
      `${name}-register`,
      {
        host: args.host,
        script: {
          description: `register runners ${names.join(", ") || "(none)"} and write config.toml`,
          vars: {
            TOKEN_DIR: `${DIR}/tokens`,
            // gitlab-runner keeps its system id beside config.toml (commands/internal/configfile).
            SYSTEM_ID_FILE: `${DIR}/.runner_system_id`,
            TEMPLATE: `${DIR}/config.toml.tmpl`,
            CONFIG_FILE: `${DIR}/config.toml`,
            RUNNER_NAMES: names,
            RUNNER_URLS: args.mine.map((r) => r.url ?? args.defaultUrl!),
            RUNNER_DESCRIPTIONS: args.mine.map((r) => r.description ?? r.name),
            RUNNER_TAGS: args.mine.map((r) => r.tags.join(",")),
          },
          bodies: ["components/runner/scripts/register.sh"],
        },
        stdin: pulumi.secret(args.tokens ? args.tokens.apply((t) => tokenLines(t, names)) : ""),
        sensitive: true,
        triggers: [template.contentHash],
      },
      { parent: this, dependsOn: [template] },
    );
    const provider = new docker.Provider(`${name}-engine`, { host: args.engine.host, ...(args.engine.sshOpts ? { sshOpts: args.engine.sshOpts } : {}) }, { parent: this });
    new docker.Container(
      `${name}-container`,
      {
        name: "gitlab-runner",
        image: `${args.runners.image}:v${runnerVersionOf(args.runners, args.gitlabVersion)}`,
        restart: "always",
        // Only SIGQUIT stops gitlab-runner gracefully: it takes no new jobs and exits once the running
        // ones finish (commands/multi.go handleGracefulShutdown); SIGTERM, Docker's default, aborts
        // them. The image said so itself (gitlab-runner commit 9fb8ce666, "STOPSIGNAL SIGQUIT" in
        // dockerfiles/runner/*/Dockerfile) until its Dockerfile moved to base images
        // (dockerfiles/runner/Dockerfile, f37c7b6dd): set here, not left to the image.
        stopSignal: "SIGQUIT",
        stopTimeout: args.runners.stopTimeout,
        // On replace and destroy the provider stops the container (with its stop signal) only when
        // this is set, else it force-removes it at once (terraform-provider-docker
        // resourceDockerContainerDelete).
        destroyGraceSeconds: args.runners.stopTimeout,
        volumes: [
          { hostPath: DIR, containerPath: DIR },
          // The docker executor starts job containers on the host's engine.
          { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" },
        ],
      },
      { parent: this, provider, dependsOn: [register, ...(args.after ?? [])], deleteBeforeReplace: true },
    );
    this.registerOutputs({});
  }
}
