// GITLAB_OMNIBUS_CONFIG: the gitlab.rb settings of a GitLab container, typed and rendered as Ruby.
// The database password is never part of it: the container reads it from a 0600 file that the
// Docker provider uploads into it (see node.ts).

export interface OmnibusInput {
  readonly externalUrl: string;
  readonly db: { readonly host: string; readonly port: number; readonly database: string; readonly username: string; readonly version?: number };
  /** Path of the password file inside the container. */
  readonly dbPasswordFile: string;
  /** Port users reach Git over SSH on (the container's 22 is published there). */
  readonly sshPort: number;
  readonly backup: { readonly path: string; readonly keepTime: number; readonly archivePermissions: string };
  /** Appended as given (escape hatch). */
  readonly extra: readonly string[];
}

/** A Ruby single-quoted string literal. */
export const rubyString = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

export function renderOmnibusConfig(o: OmnibusInput): string {
  return [
    "# Managed by gitlab-ha (components/gitlab): GitLab against the external PostgreSQL primary.",
    `external_url ${rubyString(o.externalUrl)}`,
    "postgresql['enable'] = false",
    // gitlab.rb.template: "Set this if you have disabled the bundled PostgreSQL but still want to use the backup rake tasks".
    ...(o.db.version !== undefined ? [`postgresql['version'] = ${o.db.version}`] : []),
    "gitlab_rails['db_adapter'] = 'postgresql'",
    "gitlab_rails['db_encoding'] = 'unicode'",
    `gitlab_rails['db_host'] = ${rubyString(o.db.host)}`,
    `gitlab_rails['db_port'] = ${o.db.port}`,
    `gitlab_rails['db_database'] = ${rubyString(o.db.database)}`,
    `gitlab_rails['db_username'] = ${rubyString(o.db.username)}`,
    `gitlab_rails['db_password'] = File.read(${rubyString(o.dbPasswordFile)}).strip`,
    `gitlab_rails['gitlab_shell_ssh_port'] = ${o.sshPort}`,
    `gitlab_rails['backup_path'] = ${rubyString(o.backup.path)}`,
    `gitlab_rails['backup_keep_time'] = ${o.backup.keepTime}`,
    `gitlab_rails['backup_archive_permissions'] = ${o.backup.archivePermissions}`,
    ...o.extra,
    "",
  ].join("\n");
}
