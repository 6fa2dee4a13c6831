# Runs `gitlab-backup create` in $CONTAINER, run by gitlab-backup.service. Only the node whose
# container runs (the DRBD primary) backs up: elsewhere it exits 0 without doing anything. This
# check lives here, not in ExecCondition=, which systemd 239 (EL8) does not have (systemd NEWS:
# ExecCondition= is new in 243).
if [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null || true)" != true ]; then
  echo "gitlab-ha-backup: container $CONTAINER does not run on $(uname -n): not the active node, nothing to do"
  exit 0
fi
# The off-site copy takes the same lock, so it never reads an archive while it is written.
install -d -m 0755 "$(dirname "$LOCK")"
exec 9>"$LOCK"
flock 9
# CRON=1 hides gitlab-backup's progress unless there are errors (GitLab backup_gitlab.md,
# "Configuring cron to make daily backups").
docker exec "$CONTAINER" gitlab-backup create "${BACKUP_ARGS[@]}"
