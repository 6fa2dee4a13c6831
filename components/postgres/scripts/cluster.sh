# Creates the primary's cluster once. An existing cluster of the configured version is kept as it
# is; a non-empty directory that holds no cluster is never initialised over.
if [ -f "$DATA_DIR/PG_VERSION" ]; then
  have=$(cat "$DATA_DIR/PG_VERSION")
  [ "$have" = "$PG_VERSION" ] || die "$DATA_DIR holds a PostgreSQL $have cluster but config asks for $PG_VERSION: upgrade it (pg_upgrade) first"
  exit 0
fi
if [ -d "$DATA_DIR" ] && [ -n "$(ls -A "$DATA_DIR")" ]; then
  die "$DATA_DIR is not empty and holds no PostgreSQL cluster: refusing to initialise over it"
fi
initdb_opts=(--encoding=UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 --data-checksums)
parent=$(dirname "$DATA_DIR")
[ -d "$parent" ] || install -d -o postgres -g postgres -m 0755 "$parent"
install -d -o postgres -g postgres -m 0700 "$DATA_DIR"
case "$OS_FAMILY" in
  apt) pg_createcluster "$PG_VERSION" main -d "$DATA_DIR" -p "$PG_PORT" -- "${initdb_opts[@]}" >/dev/null ;;
  dnf) runuser -u postgres -- "$BINDIR/initdb" -D "$DATA_DIR" "${initdb_opts[@]}" >/dev/null ;;
esac
changed "initialised a PostgreSQL $PG_VERSION cluster in $DATA_DIR"
