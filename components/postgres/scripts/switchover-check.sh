# Runs on the host the config names postgres-primary, before anything else of the switchover.
# Nothing to do (prints nothing) when it holds no cluster yet or already is a primary. When it is
# still a standby, a planned switchover is due: it must stream from the current primary and have
# replayed all but postgres.switchover.maxLagBytes of its WAL, or nothing is touched.
# Prints "gitlab-ha: switchover: <old> -> <new>", which the next steps read.
sw_has_cluster || exit 0
if ! sw_running; then
  [ -f "$DATA_DIR/standby.signal" ] || exit 0 # a stopped primary: the service step starts it
  die "$HOST_NAME is configured as postgres-primary but is a stopped standby: start $SERVICE so it catches up first, or promote it with npm run db:failover if the primary is lost"
fi
sw_in_recovery || exit 0
# pg_stat_wal_receiver.latest_end_lsn is the primary's end of WAL as its last message said
# (walreceiver.c ProcessWalSndrMessage: walEnd), so the difference is the lag behind the primary.
row=$(sw_psql "SELECT status, sender_host, sender_port, coalesce(pg_wal_lsn_diff(latest_end_lsn, pg_last_wal_replay_lsn()), 9223372036854775807)::bigint FROM pg_stat_wal_receiver")
IFS='|' read -r status sender_host sender_port lag <<<"$row"
if [ "$status" != streaming ]; then
  # Not streaming: either a switchover stopped half-way (the old primary is down after a clean
  # stop: the next step finds its shutdown checkpoint and promotion waits for it), or the primary
  # is lost, which the next step refuses. Name the old primary from primary_conninfo.
  conninfo=$(sw_psql "SHOW primary_conninfo")
  sender_host=$(sed -n "s/.*host='\{0,1\}\([^' ]*\).*/\1/p" <<<"$conninfo")
  sender_port=$(sed -n "s/.*port='\{0,1\}\([0-9]*\).*/\1/p" <<<"$conninfo")
  [ -n "$sender_host" ] || die "$HOST_NAME is a standby without primary_conninfo: nothing to switch over from; use npm run db:failover to promote it"
  old=$(sw_peer_name "$sender_host:${sender_port:-$PG_PORT}")
  echo "gitlab-ha: switchover: $old -> $HOST_NAME (resuming: $HOST_NAME does not stream from $old now)"
  exit 0
fi
old=$(sw_peer_name "$sender_host:$sender_port")
if [ "$lag" -gt "$MAX_LAG_BYTES" ]; then
  die "$HOST_NAME lags $lag bytes of WAL behind $old, more than postgres.switchover.maxLagBytes ($MAX_LAG_BYTES): nothing was touched; converge again when it has caught up"
fi
echo "gitlab-ha: switchover: $old -> $HOST_NAME"
