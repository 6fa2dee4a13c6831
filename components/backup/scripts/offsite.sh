# Copies the finished GitLab backup archives ($ARCHIVE_DIR) and the config backups
# ($CONFIG_BACKUP_DIR) to $TARGET on another host, run by gitlab-rsync.service. Git data leaves
# the node only inside `gitlab-backup` archives, a consistent point: GitLab's backup_gitlab.md
# says repositories must not be copied while they are written ("Prevent writes and copy the Git
# repository data"). The target's host key is pinned in $KNOWN_HOSTS: an unknown or changed key
# stops the copy (StrictHostKeyChecking=yes). Nothing is deleted on the target: a local directory
# that was lost or wiped cannot empty the copies; the target's own retention prunes them.
install -d -m 0755 "$(dirname "$LOCK")"
exec 9>"$LOCK"
# Waits for a running scheduled backup (gitlab-ha-backup holds the lock while it writes).
flock 9
# gitlab-backup writes backup_information.yml before the tar and removes it when done
# (lib/backup/manager.rb: write_backup_information, pack, cleanup); a run started by hand
# outside the lock is still writing its archive under its final name.
if [ -e "$ARCHIVE_DIR/backup_information.yml" ]; then
  die "a gitlab-backup run is writing to $ARCHIVE_DIR (backup_information.yml present): nothing copied; run again when it has finished"
fi
ssh_cmd="ssh -i $SSH_KEY -p $SSH_PORT -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$KNOWN_HOSTS -o GlobalKnownHostsFile=/dev/null"
copy() {  # <source dir> <destination name> <file pattern>
  if [ -z "$(find "$1" -maxdepth 1 -name "$3" -print -quit 2>/dev/null)" ]; then
    echo "gitlab-ha-offsite-copy: nothing to copy in $1 on $(uname -n)"
    return 0
  fi
  # --checksum: a file whose size and time match but whose content differs is sent again;
  # --numeric-ids: owners stay the node's uids (git's uid in the container), not remapped by name.
  rsync -a --checksum --numeric-ids --include="$3" --exclude='*' -e "$ssh_cmd" "$1/" "$TARGET/$2/"
  echo "gitlab-ha-offsite-copy: copied $1 to $TARGET/$2"
}
copy "$ARCHIVE_DIR" "$NODE-gitlab-backups" '[0-9]*_gitlab_backup.tar'
copy "$CONFIG_BACKUP_DIR" "$NODE-gitlab-config" 'gitlab-config-[0-9]*.tar'
