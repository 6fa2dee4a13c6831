# Installs what the copy to another host needs (rsync), enables and starts the backup timers;
# reloads systemd only when unit files changed. Idempotent.
if [ "${#PACKAGES[@]}" -gt 0 ]; then
  require_family
  for pkg in "${PACKAGES[@]}"; do
    case "$OS_FAMILY" in
      apt) dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' && continue
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null ;;
      dnf) rpm -q "$pkg" >/dev/null 2>&1 && continue
        dnf install -y -q "$pkg" >/dev/null ;;
    esac
    changed "installed $pkg"
  done
fi
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
