# Prints this host's PostgreSQL role for npm run db:failover: "role=primary", "role=standby",
# "role=stopped" or "role=none" (no cluster), and the last WAL position it has.
if ! sw_has_cluster; then echo "role=none lsn="; exit 0; fi
if ! sw_running; then echo "role=stopped lsn=$(sw_control "Latest checkpoint location")"; exit 0; fi
if sw_in_recovery; then
  echo "role=standby lsn=$(sw_psql "SELECT pg_last_wal_replay_lsn()")"
else
  echo "role=primary lsn=$(sw_psql "SELECT pg_current_wal_lsn()")"
fi
