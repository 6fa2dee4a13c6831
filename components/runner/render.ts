// /etc/gitlab-runner/config.toml, written with a TOML library from the typed config. Credentials
// are not in it: each runner's `token` line is a placeholder that the host's register step replaces
// with the credential keys `gitlab-runner register` writes (id, token, token_obtained_at,
// token_expires_at: common/config.go RunnerCredentials), from the 0600 files it keeps.
import { stringify } from "smol-toml";
import type { RunnerConfig, RunnersConfig } from "../config/schema";

export const tokenPlaceholder = (runner: string) => `@@GITLAB_HA_TOKEN:${runner}@@`;

type Toml = Record<string, unknown>;
const defined = (o: Toml): Toml => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

function runnerTable(r: RunnerConfig, url: string): Toml {
  return defined({
    name: r.name,
    url,
    token: tokenPlaceholder(r.name),
    executor: r.executor,
    limit: r.limit,
    request_concurrency: r.requestConcurrency,
    builds_dir: r.buildsDir,
    cache_dir: r.cacheDir,
    environment: r.environment.length ? r.environment : undefined,
    output_limit: r.outputLimit,
    pre_get_sources_script: r.preGetSourcesScript,
    pre_build_script: r.preBuildScript,
    post_build_script: r.postBuildScript,
    docker: r.docker
      ? defined({
          image: r.docker.image,
          privileged: r.docker.privileged,
          volumes: r.docker.volumes,
          memory: r.docker.memory,
          cpus: r.docker.cpus,
          pull_policy: r.docker.pullPolicy,
          allowed_images: r.docker.allowedImages,
        })
      : undefined,
    cache: r.cache
      ? defined({ Type: r.cache.type, Path: r.cache.path, Shared: r.cache.shared, ...(Object.keys(r.cache.settings).length ? { [r.cache.type]: r.cache.settings } : {}) })
      : undefined,
  });
}

/** config.toml for the runners of one host, in config order. */
export function renderRunnerConfig(global: RunnersConfig, runners: readonly RunnerConfig[], defaultUrl: string | undefined): string {
  const doc = defined({
    concurrent: global.concurrent,
    log_level: global.logLevel,
    log_format: global.logFormat,
    check_interval: global.checkInterval,
    shutdown_timeout: global.shutdownTimeout,
    listen_address: global.listenAddress,
    session_server: global.sessionServer
      ? { listen_address: global.sessionServer.listenAddress, advertise_address: global.sessionServer.advertiseAddress, session_timeout: global.sessionServer.sessionTimeout }
      : undefined,
    runners: runners.map((r) => runnerTable(r, r.url ?? defaultUrl!)),
  });
  return `# Managed by gitlab-ha (components/runner). Credentials are filled in on the host.\n${stringify(doc)}\n`;
}
