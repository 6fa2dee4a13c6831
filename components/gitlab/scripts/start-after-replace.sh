# Runs after Pulumi created or replaced the GitLab container of a DRBD node. Replacing it stops the
# old container (destroyGraceSeconds) and so ends the failover engine's GitLab unit, whose
# ExecStart attaches to it. Where this node holds the volume (the DRBD device mounted on
# $MOUNT_POINT: only a Primary can mount it) GitLab starts again through that unit; on every other
# node nothing happens: GitLab must not run there.
if [ "$(findmnt -rn -o SOURCE --mountpoint "$MOUNT_POINT" 2>/dev/null || true)" != "$DRBD_DEVICE" ]; then
  exit 0
fi
[ "$(systemctl show -p LoadState --value "$GITLAB_UNIT")" != not-found ] || die "$GITLAB_UNIT is not installed: the failover step did not run"
if [ "$(systemctl show -p NeedDaemonReload --value "$GITLAB_UNIT")" = yes ]; then
  systemctl daemon-reload
  changed "systemd reloaded units for $GITLAB_UNIT"
fi
if ! systemctl is-active --quiet "$GITLAB_UNIT"; then
  systemctl start "$GITLAB_UNIT"
  changed "started $GITLAB_UNIT: this node holds $DRBD_DEVICE on $MOUNT_POINT"
fi
