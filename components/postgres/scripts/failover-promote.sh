# npm run db:failover: promotes this standby now that its primary is lost or fenced (the
# command checked that). Promotion ends recovery at the last WAL it received; what the old
# primary wrote after that is not here (docs: warm-standby-failover). The slots of the old primary
# and of the other standbys are created first with their WAL reserved (sw_ensure_slots), so
# that they can follow once they are back instead of needing a rebuild. Prints nothing when the
# host already is a primary with those slots.
sw_has_cluster || die "$HOST_NAME holds no PostgreSQL cluster"
sw_running || die "$SERVICE is not running on $HOST_NAME: start it first (it replays the WAL it has, then can be promoted)"
sw_ensure_slots
sw_in_recovery || exit 0
[ "$(sw_psql "SELECT pg_promote(true, $WAIT_SECONDS)")" = t ] || die "pg_promote did not complete within $WAIT_SECONDS s on $HOST_NAME"
# A rewind of the old primary reads this server's timeline from its control file, which a promotion
# updates only at the next checkpoint (docs app-pgrewind: CHECKPOINT after promotion): take it now.
sw_psql "CHECKPOINT" >/dev/null
changed "promoted $HOST_NAME to primary at $(sw_psql "SELECT pg_current_wal_lsn()")"
