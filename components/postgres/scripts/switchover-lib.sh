# Shared by the switchover steps: this host's PostgreSQL server as it is, read from the server
# when it runs and from pg_control when it does not.
# The program's own writes (grants, slots) never wait for a synchronous standby that may not be
# there: synchronous_commit = local (postgres src/include/replication/syncrep.h, SyncRepRequested).
sw_psql() { runuser -u postgres -- env PGOPTIONS="-c synchronous_commit=local" "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -c "$1"; }
sw_has_cluster() { [ -f "$DATA_DIR/PG_VERSION" ]; }
# pg_ctl status: 0 when a postmaster runs on the directory (postmaster.pid and a live process).
sw_running() { runuser -u postgres -- "$BINDIR/pg_ctl" status -D "$DATA_DIR" >/dev/null 2>&1; }
sw_in_recovery() { [ "$(sw_psql 'SELECT pg_is_in_recovery()')" = t ]; }
sw_control() { LC_ALL=C runuser -u postgres -- "$BINDIR/pg_controldata" "$DATA_DIR" | sed -n "s/^$1: *//p"; }
# postgres.rebuildStandbys names this host with a token the base backup step has not applied yet:
# that step empties and rebuilds it (basebackup.sh), so the switchover steps leave it alone.
sw_rebuild_pending() {
  [ -n "$REBUILD_TOKEN" ] || return 1
  [ "$REBUILD_TOKEN" != "$(cat "$(dirname "$DATA_DIR")/.$(basename "$DATA_DIR").gitlab-ha-rebuild-token" 2>/dev/null || true)" ]
}
# Written on the new primary by the check step when it starts a switchover (the next steps stop
# production), removed by the promotion step: an interrupted switchover is known, not inferred.
sw_marker() { printf '%s/.%s.gitlab-ha-switchover\n' "$(dirname "$DATA_DIR")" "$(basename "$DATA_DIR")"; }
# Database host names by "address:port", to name the server a standby streams from.
sw_peer_name() {
  local p
  for p in "${DB_PEERS[@]}"; do
    if [ "${p#*=}" = "$1" ]; then printf '%s\n' "${p%%=*}"; return 0; fi
  done
  printf '%s\n' "$1"
}
