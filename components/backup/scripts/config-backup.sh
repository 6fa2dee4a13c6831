# Archives all of $CONFIG_DIR (the container's /etc/gitlab: gitlab.rb, gitlab-secrets.json, the
# SSH host keys, ssl/, trusted-certs/; GitLab backup_gitlab.md "Storing configuration files") into
# $BACKUP_DIR, a directory off the DRBD volume, as 0600 archives in a 0700 directory. Deletes
# archives older than $KEEP_SECONDS, but never the newest one; 0 keeps every archive, as
# backup_keep_time 0 does in GitLab (lib/backup/manager.rb remove_old: "keep_time <= 0" skips).
# Run by gitlab-config-backup.service; where the volume is not mounted there is nothing to archive.
if [ ! -f "$CONFIG_DIR/gitlab-secrets.json" ]; then
  echo "gitlab-ha-config-backup: no $CONFIG_DIR/gitlab-secrets.json on $(uname -n) (volume not mounted here?): nothing to archive"
  exit 0
fi
umask 077
install -d -m 0700 "$BACKUP_DIR"
chmod 0700 "$BACKUP_DIR"
now=$(date +%s)
archive="$BACKUP_DIR/gitlab-config-$now.tar"
# Written under another name and renamed: the off-site copy only takes finished archives.
# config_backup/ holds `gitlab-ctl backup-etc` archives: archives of archives are left out.
tar -C "$CONFIG_DIR" --exclude=./config_backup -cf "$archive.partial" .
chmod 0600 "$archive.partial"
mv -f "$archive.partial" "$archive"
echo "gitlab-ha-config-backup: wrote $archive"
if [ "$KEEP_SECONDS" -le 0 ]; then exit 0; fi
# Archives by the time in their names, oldest first; the last (newest) is never deleted.
mapfile -t archives < <(find "$BACKUP_DIR" -maxdepth 1 -name 'gitlab-config-*.tar' -printf '%f\n' |
  sed -n 's/^gitlab-config-\([0-9]\{1,\}\)\.tar$/\1/p' | sort -n)
for ((i = 0; i + 1 < ${#archives[@]}; i++)); do
  if [ "${archives[$i]}" -lt "$((now - KEEP_SECONDS))" ]; then
    rm -f "$BACKUP_DIR/gitlab-config-${archives[$i]}.tar"
    echo "gitlab-ha-config-backup: deleted (older than retention) $BACKUP_DIR/gitlab-config-${archives[$i]}.tar"
  fi
done
