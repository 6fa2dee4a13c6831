# Keeps the server enabled and running with its current configuration: starts it when stopped,
# reloads only when a configuration file is newer than the server's last load, and restarts only
# when a reloaded setting needs it (pg_settings.pending_restart). Nothing changed: nothing happens.
psql_q() { runuser -u postgres -- "$BINDIR/psql" -X -q -At -p "$PG_PORT" -d postgres -c "$1"; }

conf="$CONF_DIR/postgresql.conf"
[ -f "$conf" ] || die "$conf is missing: the cluster step did not run"
if ! grep -Eq "^[[:space:]]*include_dir[[:space:]]*=[[:space:]]*'conf\.d'" "$conf"; then
  printf "\n# Added by gitlab-ha: settings managed by the program live in conf.d/.\ninclude_dir = 'conf.d'\n" >>"$conf"
  changed "$conf: include_dir = 'conf.d'"
fi

if [ "$(systemctl show -p NeedDaemonReload --value "$SERVICE")" = yes ]; then
  systemctl daemon-reload
  changed "systemd reloaded units for $SERVICE"
fi
if ! systemctl is-enabled --quiet "$SERVICE" 2>/dev/null; then
  systemctl enable --quiet "$SERVICE"
  changed "enabled $SERVICE"
fi
# --no-block, then pg_wait_ready's bounded wait: PGDG's EL unit (Type=notify without a start
# timeout) would otherwise wait for ever for a standby that never becomes consistent (WAL it needs
# removed on the primary), and the converge with it.
if ! systemctl is-active --quiet "$SERVICE"; then
  systemctl start --no-block "$SERVICE"
  pg_wait_ready
  changed "started $SERVICE"
  exit 0
fi
pg_wait_ready

loaded=$(psql_q "SELECT extract(epoch FROM pg_conf_load_time())")
newest=$(find "$conf" "$CONF_DIR/pg_hba.conf" "$CONF_DIR/conf.d" "$DATA_DIR/postgresql.auto.conf" -maxdepth 1 -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -n 1)
if awk -v a="$newest" -v b="$loaded" 'BEGIN { exit !(a > b) }'; then
  psql_q "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 1 50); do
    [ "$(psql_q "SELECT extract(epoch FROM pg_conf_load_time())")" != "$loaded" ] && break
    sleep 0.1
  done
  changed "reloaded $SERVICE configuration"
fi
pending=$(psql_q "SELECT string_agg(name, ',' ORDER BY name) FROM pg_settings WHERE pending_restart")
if [ -n "$pending" ]; then
  systemctl restart "$SERVICE"
  pg_wait_ready
  changed "restarted $SERVICE to apply $pending"
fi
bad=$(psql_q "SELECT string_agg(sourcefile || ':' || sourceline || ' ' || coalesce(name, '') || ' ' || error, '; ') FROM pg_file_settings WHERE error IS NOT NULL AND error <> 'setting could not be applied'")
[ -z "$bad" ] || die "PostgreSQL rejected configuration: $bad"
bad=$(psql_q "SELECT string_agg('line ' || line_number || ': ' || error, '; ') FROM pg_hba_file_rules WHERE error IS NOT NULL")
[ -z "$bad" ] || die "PostgreSQL rejected pg_hba.conf: $bad"
