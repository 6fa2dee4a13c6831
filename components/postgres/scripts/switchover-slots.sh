# Shared by the promotion steps (switchover and db:failover).
# Physical slots for every other database host ($SLOTS), with WAL reserved from the start: for a
# physical slot that is the redo pointer of the last checkpoint, on a standby its last restartpoint
# (postgres src/backend/replication/slot.c, ReplicationSlotReserveWal). Taken just before
# pg_promote, that is before the fork and before any WAL the others may need to follow, and kept
# however long until they are back (up to max_slot_wal_keep_size). A standby may hold physical
# slots; they stay through promotion.
sw_ensure_slots() {
  local slot
  for slot in "${SLOTS[@]}"; do
    [ -z "$(sw_psql "SELECT 1 FROM pg_replication_slots WHERE slot_name = '$slot'")" ] || continue
    sw_psql "SELECT pg_create_physical_replication_slot('$slot', true)" >/dev/null
    changed "created replication slot $slot on $HOST_NAME with its WAL reserved"
  done
}
