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
if sw_running; then
  sw_in_recovery ||
    die "$HOST_NAME runs as a primary while the config makes $NEW_PRIMARY the primary (two primaries): fence it (systemctl stop $SERVICE) and converge again to rejoin it with pg_rewind, or set postgres.rebuildStandbys.$HOST_NAME to a new token to rebuild it"
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
printf "primary_conninfo = 'host=%s port=%s user=%s'\nprimary_slot_name = '%s'\n" "$PRIMARY_HOST" "$PRIMARY_PORT" "$REPLICATION_USER" "$SLOT" >>"$auto"
runuser -u postgres -- touch "$DATA_DIR/standby.signal"
systemctl start "$SERVICE"
pg_wait_ready
changed "rejoined $HOST_NAME as a standby of $NEW_PRIMARY on slot $SLOT ($how)"
drop_stale_slots
