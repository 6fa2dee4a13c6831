// gitlab.rb of a GitLab node, typed and rendered as Ruby: a file on the volume (/etc/gitlab of the
// container), applied with `gitlab-ctl reconfigure` (node.ts, scripts/config.sh, reconfigure.sh).
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
  /** HTTPS of an https external_url: Let's Encrypt only when asked, else these certificate files. */
  readonly tls?: { readonly letsEncrypt: boolean; readonly contactEmails: readonly string[]; readonly certificate?: string; readonly key?: string };
  /** Puma and Sidekiq sizes: the database's max_connections is derived from the same values. */
  readonly load?: { readonly puma: { readonly workerProcesses: number; readonly maxThreads: number }; readonly sidekiq: { readonly concurrency: number } };
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
    ...tlsLines(o),
    // The database is sized for exactly these pools (components/postgres/sizing.ts pumaWorkers):
    // all three are written, so Omnibus never derives them from the CPUs the container sees.
    ...(o.load
      ? [
          `puma['worker_processes'] = ${o.load.puma.workerProcesses}`,
          `puma['max_threads'] = ${o.load.puma.maxThreads}`,
          `sidekiq['concurrency'] = ${o.load.sidekiq.concurrency}`,
        ]
      : []),
    ...o.extra,
    "",
  ].join("\n");
}

/**
 * Let's Encrypt is an explicit choice: with `letsencrypt['enable']` left nil, Omnibus enables it by
 * itself for an https external_url whose certificate files are missing (omnibus-gitlab
 * files/gitlab-cookbooks/letsencrypt/libraries/letsencrypt.rb, `should_auto_enable?`; !2353), and
 * an internal host then fails its first reconfigure. Off, nginx serves the named files.
 */
function tlsLines(o: OmnibusInput): string[] {
  const tls = o.tls ?? { letsEncrypt: false, contactEmails: [] };
  if (tls.letsEncrypt) {
    return ["letsencrypt['enable'] = true", ...(tls.contactEmails.length ? [`letsencrypt['contact_emails'] = [${tls.contactEmails.map(rubyString).join(", ")}]`] : [])];
  }
  const url = new URL(o.externalUrl);
  if (url.protocol !== "https:") return ["letsencrypt['enable'] = false"];
  // Omnibus's own default paths (gitlab.rb.template: /etc/gitlab/ssl/#{host}.crt and .key).
  return [
    "letsencrypt['enable'] = false",
    `nginx['ssl_certificate'] = ${rubyString(tls.certificate ?? `/etc/gitlab/ssl/${url.hostname}.crt`)}`,
    `nginx['ssl_certificate_key'] = ${rubyString(tls.key ?? `/etc/gitlab/ssl/${url.hostname}.key`)}`,
  ];
}
