# Runs on the host the config names postgres-primary, before anything else of the switchover.
# Nothing to do (prints nothing) when it holds no cluster yet or already is a primary. When it is
# still a standby, a planned switchover is due: it must stream from the current primary and have
# replayed all but postgres.switchover.maxLagBytes of its WAL, or nothing is touched. Once those
# hold it writes the switchover marker (the next steps stop GitLab and the old primary); a later
# run that finds the marker and no streaming resumes that switchover, and only then.
# Prints "gitlab-ha: switchover: <old> -> <new>", which the next steps read.
sw_has_cluster || exit 0
marker=$(sw_marker)
if ! sw_running; then
  [ -f "$DATA_DIR/standby.signal" ] || exit 0 # a stopped primary: the service step starts it
  die "$HOST_NAME is configured as postgres-primary but is a stopped standby: start $SERVICE so it catches up first, or promote it with npm run db:failover if the primary is lost"
fi
if ! sw_in_recovery; then
  rm -f "$marker" # a primary already: nothing left to resume
  exit 0
fi
# pg_stat_wal_receiver.latest_end_lsn is the primary's end of WAL as its last message said
# (walreceiver.c ProcessWalSndrMessage: walEnd), so the difference is the lag behind the primary.
row=$(sw_psql "SELECT status, sender_host, sender_port, coalesce(pg_wal_lsn_diff(latest_end_lsn, pg_last_wal_replay_lsn()), 9223372036854775807)::bigint FROM pg_stat_wal_receiver")
IFS='|' read -r status sender_host sender_port lag <<<"$row"
if [ "$status" != streaming ]; then
  if [ -f "$marker" ]; then
    # This converge's earlier run stopped production and the old primary, then did not finish:
    # the stop step finds the old primary's shutdown checkpoint again, and promotion waits for it.
    old=$(cat "$marker")
    [[ "$old" =~ ^[a-z0-9-]+$ ]] || die "$marker: unexpected content; remove it if no switchover is under way"
    echo "gitlab-ha: switchover: $old -> $HOST_NAME (resuming: the switchover from $old stopped half-way, $marker)"
    exit 0
  fi
  # Not streaming and no switchover under way: stopping the old primary now would stop production
  # and then fail (promotion needs its shutdown checkpoint, which this host would never receive).
  die "$HOST_NAME does not stream from its primary (WAL receiver: ${status:-none}): a switchover to it would stop production and then fail, so nothing was touched. Get it streaming first (if its slot was lost, wal_status 'lost' in pg_replication_slots on the primary: set postgres.rebuildStandbys.$HOST_NAME to a new token and converge with the roles as they were), or promote it with npm run db:failover if the primary is lost"
fi
old=$(sw_peer_name "$sender_host:$sender_port")
if [ "$lag" -gt "$MAX_LAG_BYTES" ]; then
  die "$HOST_NAME lags $lag bytes of WAL behind $old, more than postgres.switchover.maxLagBytes ($MAX_LAG_BYTES): nothing was touched; converge again when it has caught up"
fi
[[ "$old" =~ ^[a-z0-9-]+$ ]] || die "$HOST_NAME streams from $sender_host:$sender_port, which is no database host of the config (DB_PEERS): nothing was touched"
printf '%s\n' "$old" >"$marker"
echo "gitlab-ha: switchover: $old -> $HOST_NAME"
