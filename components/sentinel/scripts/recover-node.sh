# Split-brain recovery, the part run on each node (runbook section 7). The operator runs, in order:
# ACTION=stop on every node; ACTION=report on every node and compares the lines (the node whose
# git data is newest, and its DRBD generation id, decide which side survives); ACTION=discard on
# every other data node and ACTION=connect on the survivor (DRBD's split-brain repair);
# ACTION=reset on every node (the sentinel forgets its state.db); ACTION=start on every node.
sentinel_state() { systemctl show -p ActiveState --value "$SENTINEL_UNIT"; }

case "$ACTION" in
  stop)
    # "activating" covers a sentinel waiting to be restarted (Restart=always): stop that too.
    case "$(sentinel_state)" in
      inactive | failed) ;;
      *)
        systemctl stop "$SENTINEL_UNIT"
        changed "stopped $SENTINEL_UNIT"
        ;;
    esac
    ;;

  report)
    # Read-only; every probe may fail (no drbd module, resource down, no git data): then it
    # reports unknown / none / 0 instead of failing.
    role=unknown
    if [ -e /proc/drbd ] && command -v drbdadm >/dev/null 2>&1; then
      r=$(drbdadm role "$DRBD_RESOURCE" 2>/dev/null || true)
      r=${r%%$'\n'*}
      r=${r%%/*}  # DRBD 8.4 prints local/peer
      case "$r" in
        '' | *[!A-Za-z]*) ;;
        *) role=$r ;;
      esac
    fi
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
    printf 'node=%s role=%s gi=%s newest_git=%s\n' "$(uname -n)" "$role" "$gi" "$newest"
    ;;

  reset)
    case "$STATE_DB" in
      /*/*) ;;
      *) die "STATE_DB must be an absolute path of a file in the sentinel's directory, not '$STATE_DB'" ;;
    esac
    case "$(sentinel_state)" in
      inactive | failed) ;;
      *) die "$SENTINEL_UNIT is running: stop the sentinel on every node (ACTION=stop) before resetting its state" ;;
    esac
    # SQLite side files too: a stale -wal or -journal would be replayed into the next state.db.
    for f in "$STATE_DB" "$STATE_DB-wal" "$STATE_DB-shm" "$STATE_DB-journal"; do
      if [ -e "$f" ]; then
        rm -f -- "$f"
        changed "removed $f"
      fi
    done
    ;;

  discard)
    # This node lost: its changes since the split are thrown away and it resyncs from the survivor.
    [ -e /proc/drbd ] || die "DRBD is not loaded on $(uname -n): nothing to repair"
    if mountpoint -q "$MOUNT_POINT"; then umount "$MOUNT_POINT"; changed "unmounted $MOUNT_POINT"; fi
    drbdadm disconnect "$DRBD_RESOURCE" 2>/dev/null || true
    drbdadm secondary "$DRBD_RESOURCE"
    drbdadm connect --discard-my-data "$DRBD_RESOURCE"
    changed "$DRBD_RESOURCE: discarded this node's data, resyncing from the survivor"
    ;;

  connect)
    # The survivor: reconnect (a StandAlone survivor does not reconnect by itself).
    [ -e /proc/drbd ] || die "DRBD is not loaded on $(uname -n): nothing to repair"
    if drbdadm cstate "$DRBD_RESOURCE" 2>/dev/null | grep -q StandAlone; then
      drbdadm connect "$DRBD_RESOURCE"
      changed "$DRBD_RESOURCE: reconnected the survivor"
    fi
    ;;

  start)
    if ! systemctl is-active --quiet "$SENTINEL_UNIT"; then
      systemctl start "$SENTINEL_UNIT"
      changed "started $SENTINEL_UNIT"
    fi
    ;;

  *) die "ACTION must be stop, report, discard, connect, reset or start, not '$ACTION'" ;;
esac
