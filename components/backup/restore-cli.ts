// npm run restore -- --stack <name> --node <gitlab host> --backup <EPOCH_YYYY_MM_DD_version>
// Restores a GitLab backup on the node whose container runs; refuses unless the backup was made
// by the running GitLab version (see scripts/restore.sh).
import { stackHosts } from "../offline/connections";

async function main(): Promise<void> {
  const a = process.argv.slice(2);
  const opt = (name: string) => {
    const i = a.indexOf(`--${name}`);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const [stackFile, node, backup] = [opt("stack"), opt("node"), opt("backup")];
  if (!stackFile || !node || !backup) throw new Error("usage: npm run restore -- --stack <name> --node <gitlab host> --backup <backup id>");
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
