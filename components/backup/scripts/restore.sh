# Restores GitLab backup $BACKUP_ID into the running container $CONTAINER (runbook section 1):
# refuses unless the archive was made by exactly the GitLab version and edition (CE/EE) that runs
# (GitLab restore_gitlab.md: "exactly the same version and type (CE/EE)"); then stops puma and
# sidekiq, restores, reconfigures, restarts and checks. gitlab.rb and gitlab-secrets.json come
# from a config backup (gitlab-ha-config-backup), restored by hand before this if they are lost.
case "$BACKUP_ID" in
  *_gitlab_backup.tar) BACKUP_ID=${BACKUP_ID%_gitlab_backup.tar} ;;
esac
# <epoch>_<yyyy>_<mm>_<dd>_<Gitlab::VERSION>: "17.11.7" for CE, "17.11.7-ee" for EE
# (lib/backup/manager.rb: backup_id, and remove_old's file name pattern with its "(-ee)?").
archive_version=$(printf '%s\n' "$BACKUP_ID" | sed -n 's/^[0-9]\{1,\}_[0-9]\{4\}_[0-9]\{2\}_[0-9]\{2\}_\([0-9]\{1,\}\.[0-9]\{1,\}\.[0-9]\{1,\}\(-ee\)\{0,1\}\)$/\1/p')
[ -n "$archive_version" ] || die "'$BACKUP_ID' is not a GitLab backup id (EPOCH_YYYY_MM_DD_<version>[-ee])"
running=$(docker exec "$CONTAINER" cat /opt/gitlab/embedded/service/gitlab-rails/VERSION) || die "container $CONTAINER does not run here"
running=$(printf '%s' "$running" | tr -d '[:space:]')
edition() { case "$1" in *-ee) echo EE ;; *) echo CE ;; esac; }
[ "$running" = "$archive_version" ] ||
  die "backup $BACKUP_ID was made by GitLab $archive_version ($(edition "$archive_version")) but $running ($(edition "$running")) runs here: install exactly $archive_version first (restores need the same version and edition)"
docker exec "$CONTAINER" test -f "$BACKUP_PATH/${BACKUP_ID}_gitlab_backup.tar" || die "no $BACKUP_PATH/${BACKUP_ID}_gitlab_backup.tar in $CONTAINER"
docker exec "$CONTAINER" gitlab-ctl stop puma
docker exec "$CONTAINER" gitlab-ctl stop sidekiq
docker exec "$CONTAINER" gitlab-backup restore BACKUP="$BACKUP_ID" force=yes
docker exec "$CONTAINER" gitlab-ctl reconfigure
docker exec "$CONTAINER" gitlab-ctl restart
docker exec "$CONTAINER" gitlab-rake gitlab:check SANITIZE=true
changed "restored backup $BACKUP_ID into $CONTAINER"
