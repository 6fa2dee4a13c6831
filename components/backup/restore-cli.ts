// npm run restore -- --stack <name> --node <gitlab host> --backup <EPOCH_YYYY_MM_DD_version>
// Restores a GitLab backup on the node whose container runs; refuses unless the backup was made
// by the running GitLab version (see scripts/restore.sh).
import { cliArgs, CliSpec, stringOpt } from "../cli/args";
import { stackHosts } from "../offline/connections";

const RESTORE_CLI: CliSpec = {
  name: "restore",
  usage: "npm run restore -- --stack <name> --node <gitlab host> --backup <backup id>",
  summary: ["Restores a GitLab backup on the node whose container runs; refuses a backup made by another GitLab version."],
  options: {
    stack: { value: "<name>", required: true, help: "the stack file Pulumi.<name>.yaml" },
    node: { value: "<gitlab host>", required: true, help: "the GitLab node to restore on" },
    backup: { value: "<backup id>", required: true, help: "the backup's id, EPOCH_YYYY_MM_DD_version" },
  },
};

async function main(): Promise<void> {
  const args = cliArgs(RESTORE_CLI);
  const [stackFile, node, backup] = [stringOpt(args, "stack")!, stringOpt(args, "node")!, stringOpt(args, "backup")!];
  const stack = await stackHosts({ stackFile });
  const host = stack.config.hosts.find((h) => h.name === node && h.roles.includes("gitlab"));
  if (!host) throw new Error(`${node} is not a GitLab host of stack ${stackFile}`);
  process.stderr.write(`restore: restoring ${backup} on ${node}\n`);
  const out = await stack.run(node, {
    description: `restore GitLab backup ${backup}`,
    vars: { CONTAINER: stack.config.lab ? `gitlab-ha-${stackFile}-${node}-gitlab` : "gitlab", BACKUP_ID: backup, BACKUP_PATH: stack.config.gitlab.backup.path },
    bodies: ["components/backup/scripts/restore.sh"],
  });
  process.stdout.write(out);
}

main().catch((e: unknown) => {
  process.stderr.write(`restore: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
