# Builds this standby from the primary with pg_basebackup -R on its replication slot, but only
#   - when the data directory is missing or empty,
#   - when a previous base backup did not finish (the marker below is still there), or
#   - when postgres.rebuildStandbys names this host with a token not yet applied here.
# A directory holding a working cluster, or anything else, is never emptied otherwise.
parent=$(dirname "$DATA_DIR")
marker="$parent/.$(basename "$DATA_DIR").gitlab-ha-basebackup-incomplete"
token_file="$parent/.$(basename "$DATA_DIR").gitlab-ha-rebuild-token"

applied_token=$(cat "$token_file" 2>/dev/null || true)
reason=""
if [ -f "$marker" ]; then
  reason="a previous base backup did not finish"
elif [ ! -d "$DATA_DIR" ] || [ -z "$(ls -A "$DATA_DIR")" ]; then
  reason="the data directory is empty"
elif [ -f "$DATA_DIR/PG_VERSION" ]; then
  if [ -n "$REBUILD_TOKEN" ] && [ "$REBUILD_TOKEN" != "$applied_token" ]; then
    reason="postgres.rebuildStandbys asks for a rebuild (token $REBUILD_TOKEN)"
  elif [ ! -f "$DATA_DIR/standby.signal" ]; then
    die "$DATA_DIR holds a working cluster that is not a standby (promoted?): refusing to empty it; set postgres.rebuildStandbys.$HOST_NAME to a new token to rebuild it from the primary"
  fi
else
  die "$DATA_DIR is not empty and holds no PostgreSQL cluster: refusing to touch it"
fi

if [ -n "$reason" ]; then
  if systemctl is-active --quiet "$SERVICE"; then systemctl stop "$SERVICE"; fi
  [ -d "$parent" ] || install -d -o postgres -g postgres -m 0755 "$parent"
  touch "$marker"
  if [ -d "$DATA_DIR" ]; then find "$DATA_DIR" -mindepth 1 -delete; fi
  install -d -o postgres -g postgres -m 0700 "$DATA_DIR"
  # A rebuilt standby starts on a fresh slot: the old one may be invalidated (wal_status 'lost'
  # once max_slot_wal_keep_size was exceeded), and no WAL can be streamed from such a slot. The
  # replication protocol's DROP_REPLICATION_SLOT (PostgreSQL docs, protocol-replication) drops it
  # once the old walsender has let go; pg_basebackup --create-slot makes it again.
  repl_conn="host=$PRIMARY_HOST port=$PRIMARY_PORT user=$REPLICATION_USER dbname=replication replication=true"
  for attempt in $(seq 1 90); do
    if out=$(runuser -u postgres -- "$BINDIR/psql" -X -q -w -d "$repl_conn" -c "DROP_REPLICATION_SLOT $SLOT" 2>&1); then
      changed "dropped replication slot $SLOT on $PRIMARY_HOST:$PRIMARY_PORT to build on a fresh one"
      break
    fi
    case "$out" in
      *"does not exist"*) break ;;
      *"is active"*) [ "$attempt" -lt 90 ] || die "replication slot $SLOT on $PRIMARY_HOST:$PRIMARY_PORT is still in use after 90 s: is another copy of $HOST_NAME streaming? $out" ;;
      *) die "could not drop replication slot $SLOT on $PRIMARY_HOST:$PRIMARY_PORT: $out" ;;
    esac
    sleep 1
  done
  rate=()
  if [ -n "$MAX_RATE" ]; then rate=(--max-rate="$MAX_RATE"); fi
  # The password comes from ~postgres/.pgpass, which the walreceiver also uses afterwards.
  runuser -u postgres -- "$BINDIR/pg_basebackup" --pgdata="$DATA_DIR" --format=plain --wal-method=stream \
    --write-recovery-conf --slot="$SLOT" --create-slot --checkpoint="$CHECKPOINT" "${rate[@]}" --no-password \
    --host="$PRIMARY_HOST" --port="$PRIMARY_PORT" --username="$REPLICATION_USER" >/dev/null
  rm -f "$marker"
  if [ -n "$REBUILD_TOKEN" ]; then echo "$REBUILD_TOKEN" >"$token_file"; fi
  changed "built standby from $PRIMARY_HOST:$PRIMARY_PORT on slot $SLOT ($reason)"
fi

# Debian keeps configuration in /etc/postgresql/<version>/main: register the copied data directory
# there once (pg_createcluster adopts an existing data directory that carries config files).
if [ "$OS_FAMILY" = apt ] && [ ! -f "$CONF_DIR/postgresql.conf" ]; then
  for f in postgresql pg_hba pg_ident; do
    install -o postgres -g postgres -m 0600 "/usr/share/postgresql/$PG_VERSION/$f.conf.sample" "$DATA_DIR/$f.conf"
  done
  pg_createcluster "$PG_VERSION" main -d "$DATA_DIR" -p "$PG_PORT" >/dev/null
  changed "registered $DATA_DIR as cluster $PG_VERSION/main"
fi

# A rebuild stops the server; when the program's configuration is already in place (a rebuild,
# or EL layouts where the copy brings the primary's identical files) the server starts again
# here, since the service step re-runs only when a configuration file changes.
if [ -n "$reason" ] && [ -f "$MANAGED_CONF" ]; then
  systemctl start "$SERVICE"
  changed "started $SERVICE on the new base backup"
fi
