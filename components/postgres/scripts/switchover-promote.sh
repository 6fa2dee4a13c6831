# Runs on the host the config names postgres-primary. When it is still a standby, waits until it
# has replayed past the old primary's shutdown checkpoint ($CHECKPOINT, from the stop step), then
# promotes it. Without that checkpoint it refuses: promoting then could lose committed writes.
# stdin: the old primary's name, then its shutdown checkpoint (either line may be empty).
IFS= read -r FROM || true
IFS= read -r CHECKPOINT || true
sw_has_cluster || exit 0
sw_running || exit 0
if ! sw_in_recovery; then
  rm -f "$(sw_marker)" # promoted (by this step earlier, or by db:failover): the switchover is done
  exit 0
fi
[[ "$CHECKPOINT" =~ ^[0-9A-F]{1,8}/[0-9A-F]{1,8}$ ]] ||
  die "$HOST_NAME is still a standby and ${FROM:-the old primary} was not stopped cleanly by this converge (no shutdown checkpoint): refusing to promote; for an unplanned failover use npm run db:failover"
# pg_last_wal_replay_lsn() is the end of the last replayed record, so it passes the checkpoint's
# start once the shutdown checkpoint itself has been replayed.
replayed=""
for _ in $(seq 1 $((WAIT_SECONDS * 5))); do
  replayed=$(sw_psql "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '$CHECKPOINT') > 0")
  [ "$replayed" = t ] && break
  sleep 0.2
done
[ "$replayed" = t ] ||
  die "$HOST_NAME did not replay $FROM's shutdown checkpoint $CHECKPOINT within $WAIT_SECONDS s (replayed up to $(sw_psql 'SELECT pg_last_wal_replay_lsn()')): not promoted; $FROM is stopped, start it again to undo"
# pg_promote(wait, wait_seconds) returns true once promotion has completed
# (PostgreSQL docs, functions-admin: "pg_promote").
sw_ensure_slots
[ "$(sw_psql "SELECT pg_promote(true, $WAIT_SECONDS)")" = t ] || die "pg_promote did not complete within $WAIT_SECONDS s on $HOST_NAME"
# A rewind of the old primary reads this server's timeline from its control file, which a promotion
# updates only at the next checkpoint (docs app-pgrewind: CHECKPOINT after promotion): take it now.
sw_psql "CHECKPOINT" >/dev/null
rm -f "$(sw_marker)"
changed "promoted $HOST_NAME to primary after replaying $FROM's shutdown checkpoint $CHECKPOINT"
