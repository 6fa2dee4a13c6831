# Restores GitLab backup $BACKUP_ID into the running container $CONTAINER (runbook section 1):
# refuses unless the archive was made by the very GitLab version that runs; then stops puma and
# sidekiq, restores, reconfigures, restarts and checks. gitlab.rb and gitlab-secrets.json come
# from a config backup (gitlab-ha-config-backup), restored by hand before this if they are lost.
case "$BACKUP_ID" in
  *_gitlab_backup.tar) BACKUP_ID=${BACKUP_ID%_gitlab_backup.tar} ;;
esac
# <epoch>_<yyyy>_<mm>_<dd>_<version>, the version possibly with -ee.
archive_version=$(printf '%s\n' "$BACKUP_ID" | sed -n 's/^[0-9]\{1,\}_[0-9]\{4\}_[0-9]\{2\}_[0-9]\{2\}_\([0-9]\{1,\}\.[0-9]\{1,\}\.[0-9]\{1,\}\)\(-ee\)\{0,1\}$/\1/p')
[ -n "$archive_version" ] || die "'$BACKUP_ID' is not a GitLab backup id (EPOCH_YYYY_MM_DD_<version>)"
running=$(docker exec "$CONTAINER" cat /opt/gitlab/embedded/service/gitlab-rails/VERSION) || die "container $CONTAINER does not run here"
running=${running%%-*}
[ "$running" = "$archive_version" ] || die "backup $BACKUP_ID was made by GitLab $archive_version but $running runs here: install $archive_version first (restores need the same version)"
docker exec "$CONTAINER" test -f "$BACKUP_PATH/${BACKUP_ID}_gitlab_backup.tar" || die "no $BACKUP_PATH/${BACKUP_ID}_gitlab_backup.tar in $CONTAINER"
docker exec "$CONTAINER" gitlab-ctl stop puma
docker exec "$CONTAINER" gitlab-ctl stop sidekiq
docker exec "$CONTAINER" gitlab-backup restore BACKUP="$BACKUP_ID" force=yes
docker exec "$CONTAINER" gitlab-ctl reconfigure
docker exec "$CONTAINER" gitlab-ctl restart
docker exec "$CONTAINER" gitlab-rake gitlab:check SANITIZE=true
changed "restored backup $BACKUP_ID into $CONTAINER"
