# Archives gitlab.rb and gitlab-secrets.json from $CONFIG_DIR into $BACKUP_DIR (0600, the
# directory 0700), and deletes archives older than $KEEP_SECONDS. Run by gitlab-config-backup.service;
# on a DRBD node whose volume is not mounted here there is nothing to archive, and it says so.
if [ ! -f "$CONFIG_DIR/gitlab-secrets.json" ]; then
  echo "gitlab-ha-config-backup: no $CONFIG_DIR/gitlab-secrets.json on $(uname -n) (volume not mounted here?): nothing to archive"
  exit 0
fi
install -d -m 0700 "$BACKUP_DIR"
archive="$BACKUP_DIR/gitlab-config-$(date +%s).tar"
umask 077
files=(gitlab-secrets.json)
if [ -f "$CONFIG_DIR/gitlab.rb" ]; then files+=(gitlab.rb); fi
tar -C "$CONFIG_DIR" -cf "$archive" "${files[@]}"
echo "gitlab-ha-config-backup: wrote $archive"
find "$BACKUP_DIR" -maxdepth 1 -name 'gitlab-config-*.tar' -mmin "+$((KEEP_SECONDS / 60))" -print -delete |
  sed 's/^/gitlab-ha-config-backup: deleted (older than retention) /'
