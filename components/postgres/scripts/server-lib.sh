# Shared by the steps that start or restart this host's PostgreSQL server (service, switchover).
pg_wait_ready() {
  for _ in $(seq 1 120); do
    if runuser -u postgres -- "$BINDIR/pg_isready" -q -p "$PG_PORT"; then return 0; fi
    sleep 0.5
  done
  die "$SERVICE did not accept connections within 60 s; see journalctl -u $SERVICE and the server log"
}
