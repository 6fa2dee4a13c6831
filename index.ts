// gitlab-ha: composes the components from the stack's validated configuration. Nothing is
// created unless the whole configuration is valid (see components/config).
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig, readSecretFile } from "./components/config/load";
import type { HostConfig, Role } from "./components/config/schema";
import { hostTargets } from "./components/host/target";
import { LabHosts } from "./components/lab/hosts";
import { PostgresCluster } from "./components/postgres/cluster";

export = async () => {
  const { config, secrets } = loadStackConfig();
  const stack = pulumi.getStack();

  const sshPrivateKey =
    secrets.sshPrivateKey ?? (config.ssh.privateKeyFile ? readSecretFile(config.ssh.privateKeyFile, "ssh.privateKeyFile") : undefined);

  const lab = config.lab
    ? new LabHosts("lab", { lab: config.lab, hosts: config.hosts, sshPrivateKey: sshPrivateKey!, prefix: `${pulumi.getProject()}-${stack}` })
    : undefined;

  // With ssh.agent the command provider uses $SSH_AUTH_SOCK itself.
  const targets = hostTargets(config, sshPrivateKey ? { privateKey: sshPrivateKey } : {}, (h) =>
    lab ? [lab.containers.get(h.name)!] : [],
  );
  const withRole = (role: Role) => config.hosts.filter((h: HostConfig) => h.roles.includes(role)).map((h) => targets.get(h.name)!);

  const [primary] = withRole("postgres-primary");
  const postgres = primary
    ? new PostgresCluster("postgres", {
        postgres: config.postgres,
        primary,
        standbys: withRole("postgres-standby"),
        gitlabHosts: withRole("gitlab"),
        ...(secrets.postgresReplicationPassword ? { replicationPassword: secrets.postgresReplicationPassword } : {}),
        ...(secrets.postgresGitlabPassword ? { gitlabPassword: secrets.postgresGitlabPassword } : {}),
      })
    : undefined;

  return {
    ...(postgres && {
      database: {
        primary: postgres.primary.endpoint,
        replicationSlots: postgres.standbys.map((s) => s.slot),
        name: config.postgres.database,
        user: config.postgres.gitlabUser,
        password: postgres.gitlabPassword,
      },
    }),
    ...(lab && { labImage: lab.image }),
  };
};
