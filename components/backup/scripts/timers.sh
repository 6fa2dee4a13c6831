# Enables and starts the backup timers; reloads systemd only when unit files changed. Idempotent.
for unit in "${TIMERS[@]}"; do
  if [ "$(systemctl show -p NeedDaemonReload --value "$unit")" = yes ]; then
    systemctl daemon-reload
    changed "systemd reloaded units"
    break
  fi
done
for unit in "${TIMERS[@]}"; do
  if ! systemctl is-enabled --quiet "$unit"; then
    systemctl enable --quiet "$unit"
    changed "enabled $unit"
  fi
  if ! systemctl is-active --quiet "$unit"; then
    systemctl start "$unit"
    changed "started $unit"
  fi
done
