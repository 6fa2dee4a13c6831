# Split-brain recovery, the part run on one data node (runbook section 7; LINBIT DRBD 9 user's
# guide, "Manual split brain recovery"). The recovery command (recover.ts) decides and orders the
# actions; each one is idempotent and prints "gitlab-ha: changed:" only when it changed something:
#   report                 read-only: DRBD role, generation id, each peer's connection state,
#                          whether the volume is mounted, the units' states, the newest git data
#   stop-failover / start-failover   the failover engine's unit ($FAILOVER_UNIT)
#   stop-gitlab / start-gitlab       GitLab's unit ($GITLAB_UNIT)
#   unmount / mount        the volume on $MOUNT_POINT
#   secondary / primary    the DRBD role (primary only to undo a secondary of this command)
#   discard                the victim: connect to the survivor $PEER, discarding this node's data
#   connect                the survivor: reconnect the victim $PEER if that connection is StandAlone
#   reset                  the sentinel forgets its state.db
# Connections are always named (<resource>:<peer>): a whole-resource `drbdadm connect` also
# targets the tiebreaker's connection, and the kernel refuses a connect on any connection that is
# not StandAlone (drbd/drbd_nl.c, drbd_adm_connect: ERR_NET_CONFIGURED).
unit_state() { systemctl show -p ActiveState --value "$1"; }
# drbd-utils: `drbdadm role <res>` prints the local role (DRBD 8.4: local/peer); nothing when down.
drbd_role() {
  local r
  r=$(drbdadm role "$DRBD_RESOURCE" 2>/dev/null || true)
  r=${r%%$'\n'*}
  r=${r%%/*}
  case "$r" in
    '' | *[!A-Za-z]*) echo unknown ;;
    *) echo "$r" ;;
  esac
}
# drbd-utils user/v9/drbdsetup.c cstate_cmd: one word per connection (StandAlone, Connecting, Connected...).
cstate() {
  local c
  c=$(drbdadm cstate "$DRBD_RESOURCE:$1" 2>/dev/null || true)
  c=${c%%$'\n'*}
  case "$c" in
    '' | *[!A-Za-z]*) echo unknown ;;
    *) echo "$c" ;;
  esac
}
mounted() { mountpoint -q "$MOUNT_POINT"; }
need_peer() { [ -n "$PEER" ] || die "ACTION=$ACTION needs PEER, the node at the other end of the connection"; }

case "$ACTION" in
  report)
    # Read-only; every probe may fail (DRBD down, no git data): then it reports unknown / none / 0.
    gi=none
    if command -v drbdadm >/dev/null 2>&1; then
      # get-gi reads the kernel for an attached device and the metadata (drbdmeta) otherwise;
      # the first field is the current UUID, the same on every peer-device line of the volume.
      g=$(drbdadm get-gi "$DRBD_RESOURCE" 2>/dev/null || true)
      g=${g%%$'\n'*}
      g=${g%%:*}
      if [[ $g =~ ^[0-9A-Fa-f]{1,16}$ ]]; then gi=$g; fi
    fi
    newest=0
    if [ -d "$GIT_DATA" ]; then
      newest=$({ find -H "$GIT_DATA" -type f -printf '%T@\n' 2>/dev/null || true; } | awk 'BEGIN { m = 0 } { t = int($1) } t > m { m = t } END { print m }')
    fi
    if mounted; then m=yes; else m=no; fi
    role=unknown
    peers=()
    if command -v drbdadm >/dev/null 2>&1; then
      role=$(drbd_role)
      for p in "${PEERS[@]}"; do peers+=("peer:$p=$(cstate "$p")"); done
    else
      for p in "${PEERS[@]}"; do peers+=("peer:$p=unknown"); done
    fi
    printf 'node=%s role=%s gi=%s newest_git=%s mounted=%s failover=%s gitlab=%s' \
      "$(uname -n)" "$role" "$gi" "$newest" "$m" "$(unit_state "$FAILOVER_UNIT")" "$(unit_state "$GITLAB_UNIT")"
    if [ ${#peers[@]} -gt 0 ]; then printf ' %s' "${peers[@]}"; fi
    printf '\n'
    ;;

  stop-failover)
    # "activating" covers a unit waiting to be restarted (Restart=always): stop that too.
    case "$(unit_state "$FAILOVER_UNIT")" in
      inactive | failed) ;;
      *)
        systemctl stop "$FAILOVER_UNIT"
        changed "stopped $FAILOVER_UNIT"
        ;;
    esac
    ;;

  start-failover)
    if ! systemctl is-active --quiet "$FAILOVER_UNIT"; then
      systemctl start "$FAILOVER_UNIT"
      changed "started $FAILOVER_UNIT"
    fi
    ;;

  stop-gitlab)
    # GitLab's bind mounts of the volume keep it busy: it stops before the unmount.
    case "$(unit_state "$GITLAB_UNIT")" in
      inactive | failed) ;;
      *)
        systemctl stop "$GITLAB_UNIT"
        changed "stopped $GITLAB_UNIT"
        ;;
    esac
    ;;

  start-gitlab)
    mounted || die "$MOUNT_POINT is not mounted on $(uname -n): GitLab is not started without its volume"
    if ! systemctl is-active --quiet "$GITLAB_UNIT"; then
      systemctl start "$GITLAB_UNIT"
      changed "started $GITLAB_UNIT"
    fi
    ;;

  unmount)
    if mounted; then
      umount "$MOUNT_POINT" || die "cannot unmount $MOUNT_POINT on $(uname -n): something still uses it (fuser -vm $MOUNT_POINT)"
      changed "unmounted $MOUNT_POINT"
    fi
    ;;

  mount)
    if ! mounted; then
      mount -t "$FILESYSTEM" "$DEVICE" "$MOUNT_POINT"
      changed "mounted $DEVICE on $MOUNT_POINT"
    fi
    ;;

  secondary)
    if [ "$(drbd_role)" = Primary ]; then
      mounted && die "$MOUNT_POINT is still mounted on $(uname -n): unmount it before demoting $DRBD_RESOURCE"
      drbdadm secondary "$DRBD_RESOURCE"
      changed "$DRBD_RESOURCE: demoted to Secondary"
    fi
    ;;

  primary)
    if [ "$(drbd_role)" != Primary ]; then
      drbdadm primary "$DRBD_RESOURCE"
      changed "$DRBD_RESOURCE: promoted to Primary again"
    fi
    ;;

  discard)
    # This node lost: its changes since the split are thrown away and it resyncs from $PEER.
    need_peer
    [ "$(drbd_role)" = Secondary ] || die "$DRBD_RESOURCE is $(drbd_role) on $(uname -n), not Secondary: refusing to discard its data"
    # A connection still trying (Connecting) is not StandAlone: disconnect it first.
    if [ "$(cstate "$PEER")" != StandAlone ]; then drbdadm disconnect "$DRBD_RESOURCE:$PEER"; fi
    drbdadm connect --discard-my-data "$DRBD_RESOURCE:$PEER"
    changed "$DRBD_RESOURCE: discarding this node's data, resyncing from $PEER"
    ;;

  connect)
    # The survivor: a StandAlone connection does not reconnect by itself; one that is Connecting
    # does, as soon as the victim connects.
    need_peer
    if [ "$(cstate "$PEER")" = StandAlone ]; then
      drbdadm connect "$DRBD_RESOURCE:$PEER"
      changed "$DRBD_RESOURCE: reconnected to $PEER"
    fi
    ;;

  reset)
    case "$STATE_DB" in
      /*/*) ;;
      *) die "STATE_DB must be an absolute path of a file in the sentinel's directory, not '$STATE_DB'" ;;
    esac
    case "$(unit_state "$FAILOVER_UNIT")" in
      inactive | failed) ;;
      *) die "$FAILOVER_UNIT is running: stop the sentinel on every node (ACTION=stop-failover) before resetting its state" ;;
    esac
    # SQLite side files too: a stale -wal or -journal would be replayed into the next state.db.
    for f in "$STATE_DB" "$STATE_DB-wal" "$STATE_DB-shm" "$STATE_DB-journal"; do
      if [ -e "$f" ]; then
        rm -f -- "$f"
        changed "removed $f"
      fi
    done
    ;;

  *) die "ACTION must be report, stop-failover, start-failover, stop-gitlab, start-gitlab, unmount, mount, secondary, primary, discard, connect or reset, not '$ACTION'" ;;
esac
