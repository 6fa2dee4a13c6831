# GitLab's writes during a switchover. ACTION=stop (only when a switchover is due, $PENDING
# names it): stops GitLab on this node, through the failover engine's unit on DRBD nodes (so the
# engine does not see a failure to act on) or the container elsewhere, and leaves a marker.
# ACTION=start: starts what the marker says was stopped, once the database is the new primary.
# stdin: the switchover plan ("old -> new"), empty when none is due.
IFS= read -r PENDING || true
marker="$STATE_DIR/gitlab-ha-switchover-stopped-gitlab"
case "$ACTION" in
  stop)
    [ -n "$PENDING" ] || exit 0
    if [ "$MODE" = unit ]; then
      systemctl is-active --quiet "$GITLAB_UNIT" || exit 0
      touch "$marker"
      systemctl stop "$GITLAB_UNIT"
    else
      [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null || true)" = true ] || exit 0
      touch "$marker"
      docker stop --time 60 "$CONTAINER" >/dev/null
    fi
    changed "stopped GitLab on $HOST_NAME for the database switchover ($PENDING)"
    ;;
  start)
    [ -f "$marker" ] || exit 0
    # A re-pointed container may have been replaced, and so started, already.
    if [ "$MODE" = unit ] && ! systemctl is-active --quiet "$GITLAB_UNIT"; then
      systemctl start "$GITLAB_UNIT"
      changed "started GitLab on $HOST_NAME again after the database switchover"
    elif [ "$MODE" != unit ] && [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null || true)" != true ]; then
      docker start "$CONTAINER" >/dev/null
      changed "started GitLab on $HOST_NAME again after the database switchover"
    fi
    rm -f "$marker"
    ;;
  *) die "unknown ACTION '$ACTION'" ;;
esac
