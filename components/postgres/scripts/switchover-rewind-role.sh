# On the primary: lets the replication role be the source of a rewind, which reads the files
# through these four functions over a normal connection to database postgres (docs:
# app-pgrewind, Notes: a non-superuser role with EXECUTE on them is enough).
for f in 'pg_ls_dir(text, boolean, boolean)' 'pg_stat_file(text, boolean)' 'pg_read_binary_file(text)' 'pg_read_binary_file(text, bigint, bigint, boolean)'; do
  if [ "$(sw_psql "SELECT has_function_privilege('$REPLICATION_USER', 'pg_catalog.$f', 'EXECUTE')")" != t ]; then
    sw_psql "GRANT EXECUTE ON FUNCTION pg_catalog.$f TO $REPLICATION_USER" >/dev/null
    changed "granted EXECUTE on $f to $REPLICATION_USER (rewind source)"
  fi
done
