# Proves this standby streams from the primary. The step is done only when pg_stat_wal_receiver
# (PostgreSQL docs, monitoring-stats: one row while a WAL receiver runs, with status, sender_host,
# sender_port and slot_name) shows it streaming from $PRIMARY_HOST:$PRIMARY_PORT on its slot;
# it waits at most $STREAM_TIMEOUT seconds and then says what it saw.
psql_q() { runuser -u postgres -- "$BINDIR/psql" -X -q -At -p "$PG_PORT" -d postgres -c "$1"; }
psql_primary() { runuser -u postgres -- "$BINDIR/psql" -X -q -At -w -d "host=$PRIMARY_HOST port=$PRIMARY_PORT user=$REPLICATION_USER dbname=replication replication=true" -c "$1"; }

want="streaming from $PRIMARY_HOST:$PRIMARY_PORT on slot $SLOT"
query="SELECT CASE WHEN NOT pg_is_in_recovery() THEN 'no recovery (the server was promoted)' ELSE coalesce(
  (SELECT status || ' from ' || coalesce(sender_host, '?') || ':' || coalesce(sender_port::text, '?') || ' on slot ' || coalesce(slot_name, '(none)') FROM pg_stat_wal_receiver),
  'no WAL receiver (pg_stat_wal_receiver is empty)') END"
deadline=$((SECONDS + STREAM_TIMEOUT))
while :; do
  seen=$(psql_q "$query" 2>&1) || seen="no answer from the server: $seen"
  [ "$seen" = "$want" ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "standby $HOST_NAME is not streaming from the primary $PRIMARY_HOST:$PRIMARY_PORT after $STREAM_TIMEOUT s; it shows: $seen. See its server log; if the primary removed WAL it needs (slot $SLOT with wal_status 'lost' in pg_replication_slots), rebuild it: set postgres.rebuildStandbys.$HOST_NAME to a new token"
  fi
  sleep 1
done

# The settings a hot standby needs no lower than its primary's (PostgreSQL docs, hot-standby-admin),
# compared with the primary's own through the replication connection, which answers SHOW.
for name in max_connections max_prepared_transactions max_locks_per_transaction max_wal_senders max_worker_processes; do
  mine=$(psql_q "SHOW $name")
  theirs=$(psql_primary "SHOW $name" 2>&1) || die "could not read $name from the primary $PRIMARY_HOST:$PRIMARY_PORT: $theirs"
  [ "$mine" -ge "$theirs" ] || die "standby $HOST_NAME has $name = $mine, lower than the primary's $theirs: replay stops at the primary's next restart; set it equal on both (postgresql.auto.conf or the managed conf.d file)"
done
