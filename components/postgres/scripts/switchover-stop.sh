# Runs on each host the config names postgres-standby, after GitLab's writes stopped. On the old
# primary of a planned switchover ($FROM), stops PostgreSQL cleanly and prints its shutdown
# checkpoint ("gitlab-ha: checkpoint: <lsn>") for the promotion step to wait for. Elsewhere it
# only refuses a second primary. stdin: the old primary's name from the check step, or nothing;
# then "resuming" when the check resumes an interrupted switchover.
IFS= read -r FROM || true
IFS= read -r RESUMING || true
[[ "$FROM" =~ ^[a-z0-9-]*$ ]] || die "stdin: unexpected old primary name"
sw_has_cluster || exit 0
if sw_rebuild_pending; then exit 0; fi
if sw_running; then
  if sw_in_recovery; then
    [ "$FROM" != "$HOST_NAME" ] || die "$NEW_PRIMARY streams from $HOST_NAME, which is itself a standby (a standby of a standby): switch over from the primary, with $NEW_PRIMARY streaming from it"
    exit 0 # a standby, as configured
  fi
  if [ "$FROM" != "$HOST_NAME" ]; then
    die "$HOST_NAME runs as a primary, but the config makes it a standby of $NEW_PRIMARY, which does not stream from it (two primaries): refusing to empty it; set postgres.rebuildStandbys.$HOST_NAME to a new token to rebuild it from $NEW_PRIMARY (its own writes are lost), put postgres-primary back on it, or fence it and use npm run db:failover"
  fi
  # Resuming means the new primary no longer streams: it could not receive the shutdown checkpoint,
  # so stopping this primary now would only stop production.
  [ "$RESUMING" != resuming ] ||
    die "the switchover to $NEW_PRIMARY stopped half-way and $NEW_PRIMARY does not stream from $HOST_NAME now: refusing to stop $HOST_NAME, which still runs as the primary. Get $NEW_PRIMARY streaming again and converge, or put the roles back in the config and remove the marker on $NEW_PRIMARY (see its check step's message)"
  # A fast shutdown (postgresql-common's postgresql@.service: ExecStop=pg_ctlcluster -m fast;
  # PGDG's unit: KillSignal=SIGINT) writes a shutdown checkpoint, and the walsenders send all
  # WAL up to it and wait until the standby has it before they exit (postgres
  # src/backend/replication/walsender.c, header comment).
  systemctl stop "$SERVICE"
  changed "stopped the old primary $HOST_NAME cleanly (fast shutdown) for $NEW_PRIMARY to take over"
fi
[ "$FROM" = "$HOST_NAME" ] || exit 0
[ -f "$DATA_DIR/standby.signal" ] && exit 0
state=$(sw_control "Database cluster state")
[ "$state" = "shut down" ] ||
  die "$HOST_NAME is stopped but was not shut down cleanly (pg_control says '$state'): its last writes may be missing on $NEW_PRIMARY. Start it so the switchover can stop it cleanly, or promote $NEW_PRIMARY with npm run db:failover"
echo "gitlab-ha: checkpoint: $(sw_control "Latest checkpoint location")"
