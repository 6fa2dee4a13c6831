# Runs on each host the config names postgres-standby, once the primary is ready (its slot for
# this host exists). A former primary, stopped, is turned into a standby of $PRIMARY_HOST:
# pg_rewind first (it answers "no rewind required" when the old timeline is a prefix of the new
# one, as after a clean switchover), then standby.signal, primary_conninfo and primary_slot_name.
# Program slots left from its time as a primary are dropped so they cannot pin WAL here.
# stdin: the replication role's password (pg_rewind reads the source through a normal connection).
IFS= read -r password || die "stdin: missing the replication role's password"
sw_has_cluster || exit 0
if sw_rebuild_pending; then exit 0; fi # the base backup step rebuilds it
drop_stale_slots() {
  local slot
  for slot in $(sw_psql "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'physical' AND NOT active AND slot_name LIKE '${SLOT_PREFIX}%'"); do
    sw_psql "SELECT pg_drop_replication_slot('$slot')" >/dev/null
    changed "dropped replication slot $slot on $HOST_NAME (left from its time as primary)"
  done
}
conninfo_line() { printf "host=%s port=%s user=%s" "$PRIMARY_HOST" "$PRIMARY_PORT" "$REPLICATION_USER"; }
if sw_running; then
  sw_in_recovery ||
    die "$HOST_NAME runs as a primary while the config makes $NEW_PRIMARY the primary (two primaries): fence it (systemctl stop $SERVICE) and converge again to rejoin it with pg_rewind, or set postgres.rebuildStandbys.$HOST_NAME to a new token to rebuild it"
  # Another standby of the old primary (two or more standbys): it follows the new one. Since
  # PostgreSQL 13 primary_conninfo and primary_slot_name take effect on reload, the WAL receiver
  # restarting with them (docs runtime-config-replication; postgres src/backend/access/transam/
  # xlogrecovery.c, StartupRequestWalReceiverRestart), and recovery_target_timeline 'latest' (the
  # default) follows the new primary's timeline.
  conninfo=$(sw_psql "SHOW primary_conninfo")
  host=$(sed -n "s/.*host='\{0,1\}\([^' ]*\).*/\1/p" <<<"$conninfo")
  port=$(sed -n "s/.*port='\{0,1\}\([0-9]*\).*/\1/p" <<<"$conninfo")
  if [ "$host:${port:-5432}" != "$PRIMARY_HOST:$PRIMARY_PORT" ] || [ "$(sw_psql "SHOW primary_slot_name")" != "$SLOT" ]; then
    sw_psql "ALTER SYSTEM SET primary_conninfo = '$(conninfo_line)'" >/dev/null
    sw_psql "ALTER SYSTEM SET primary_slot_name = '$SLOT'" >/dev/null
    sw_psql "SELECT pg_reload_conf()" >/dev/null
    changed "re-pointed the standby $HOST_NAME from ${host:-?}:${port:-?} to $NEW_PRIMARY on slot $SLOT"
  fi
  drop_stale_slots
  exit 0
fi
[ -f "$DATA_DIR/standby.signal" ] && exit 0 # a stopped standby: the service step starts it

# pg_rewind refuses a target without data checksums or wal_log_hints (docs: app-pgrewind).
checksums=$(sw_control "Data page checksum version")
hints=$(sw_control "wal_log_hints setting")
if [ "$checksums" = 0 ] && [ "$hints" != on ]; then
  die "$HOST_NAME cannot be rewound: it has neither data checksums nor wal_log_hints = on; set postgres.rebuildStandbys.$HOST_NAME to a new token to rebuild it from $NEW_PRIMARY with a base backup"
fi
passfile=$(mktemp)
trap 'rm -f "$passfile"' EXIT
chown postgres "$passfile"
chmod 0600 "$passfile"
esc() { local v=${1//\\/\\\\}; printf '%s' "${v//:/\\:}"; } # .pgpass escaping of '\' and ':'
printf '%s:%s:postgres:%s:%s\n' "$(esc "$PRIMARY_HOST")" "$PRIMARY_PORT" "$(esc "$REPLICATION_USER")" "$(esc "$password")" >"$passfile"
conf_opt=()
if [ ! -f "$DATA_DIR/postgresql.conf" ]; then conf_opt=(--config-file="$CONF_DIR/postgresql.conf"); fi
# pg_rewind needs a normal connection to the running source with EXECUTE on pg_ls_dir,
# pg_stat_file and pg_read_binary_file (docs: app-pgrewind, Notes), granted by the rewind-role step.
if ! out=$(runuser -u postgres -- "$BINDIR/pg_rewind" --target-pgdata="$DATA_DIR" "${conf_opt[@]}" \
  --source-server="host=$PRIMARY_HOST port=$PRIMARY_PORT user=$REPLICATION_USER dbname=postgres passfile=$passfile" 2>&1); then
  die "pg_rewind of $HOST_NAME from $NEW_PRIMARY failed: $(tail -n 3 <<<"$out" | tr '\n' ' ')- set postgres.rebuildStandbys.$HOST_NAME to a new token to rebuild it with a base backup"
fi
if grep -q "no rewind required" <<<"$out"; then how="no rewind needed"; else how="rewound with pg_rewind"; fi

auto="$DATA_DIR/postgresql.auto.conf"
sed -i -E '/^[[:space:]]*(primary_conninfo|primary_slot_name)[[:space:]]*=/d' "$auto"
# The password comes from ~postgres/.pgpass, as for a standby built by pg_basebackup -R.
printf "primary_conninfo = '%s'\nprimary_slot_name = '%s'\n" "$(conninfo_line)" "$SLOT" >>"$auto"
runuser -u postgres -- touch "$DATA_DIR/standby.signal"

behind="it is behind the new primary's WAL: $NEW_PRIMARY no longer has the WAL it needs to follow; rebuild it with a base backup: set postgres.rebuildStandbys.$HOST_NAME to a new token"
# Whether $NEW_PRIMARY still has the WAL from LSN $1 on: the oldest segment in its pg_wal (pg_ls_dir,
# granted by the rewind-role step) against the segment of $1, and this host's slot there.
source_q() { runuser -u postgres -- "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -d "host=$PRIMARY_HOST port=$PRIMARY_PORT user=$REPLICATION_USER dbname=postgres passfile=$passfile" -c "$1"; }
lacks_wal_from() {
  local seg_size oldest slot_status hi lo
  seg_size=$(source_q "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'")
  oldest=$(source_q "SELECT coalesce(min(substr(f, 9)), '') FROM pg_ls_dir('pg_wal', false, false) f WHERE f ~ '^[0-9A-F]{24}\$'")
  slot_status=$(source_q "SELECT coalesce((SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$SLOT'), 'missing')")
  IFS=/ read -r hi lo <<<"$1"
  [ "$slot_status" != lost ] || return 0
  [ -n "$oldest" ] && [ $(((16#$hi * 4294967296 + 16#$lo) / seg_size)) -lt $((16#${oldest:0:8} * (4294967296 / seg_size) + 16#${oldest:8:8})) ]
}
# --no-block: PGDG's EL unit (Type=notify, no start timeout) would wait for ever for a standby
# that never becomes consistent because the WAL it needs is gone; the wait is bounded here instead.
systemctl start --no-block "$SERVICE"
ready=""
for _ in $(seq 1 $((WAIT_SECONDS * 2))); do
  if runuser -u postgres -- "$BINDIR/pg_isready" -q -p "$PG_PORT"; then ready=yes; break; fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  systemctl stop "$SERVICE" || true # cancels the start job, so nothing keeps trying
  # Recovery starts at the checkpoint's redo location (pg_rewind writes the last common one).
  redo=$(sw_control "Latest checkpoint's REDO location")
  if lacks_wal_from "$redo"; then die "$HOST_NAME did not become ready within $WAIT_SECONDS s after the rejoin (stopped again): its recovery starts at $redo and $behind"; fi
  die "$HOST_NAME did not accept connections within $WAIT_SECONDS s after the rejoin (stopped again); see its server log"
fi
# Not streaming yet is normal (~postgres/.pgpass may name the old primary until the standby's own
# steps run); WAL the new primary has already removed is not.
replayed=$(sw_psql "SELECT pg_last_wal_replay_lsn()")
if lacks_wal_from "$replayed"; then die "$HOST_NAME rejoined $NEW_PRIMARY but cannot stream from $replayed: $behind"; fi
changed "rejoined $HOST_NAME as a standby of $NEW_PRIMARY on slot $SLOT ($how)"
drop_stale_slots
