# drbd-reactor as the failover engine: installed, enabled and (re)loaded with the promoter
# configuration; GitLab's unit is disabled at boot, since the promoter starts it.
require_family
case "$OS_FAMILY" in
  apt) installed() { dpkg-query -W -f='${Status}' drbd-reactor 2>/dev/null | grep -q 'install ok installed'; } ;;
  dnf) installed() { rpm -q drbd-reactor >/dev/null 2>&1; } ;;
esac
if ! installed; then
  case "$OS_FAMILY" in
    apt) DEBIAN_FRONTEND=noninteractive apt-get install -y -q drbd-reactor >/dev/null ;;
    dnf) dnf install -y -q drbd-reactor >/dev/null ;;
  esac
  changed "installed drbd-reactor"
fi
# The mount unit and GitLab's drop-in (mount assertion, restarts) are written by an earlier step.
reload_units_if_changed "$MOUNT_UNIT" "$GITLAB_UNIT"
if ! systemctl is-enabled --quiet drbd-reactor; then
  systemctl enable --quiet drbd-reactor
  changed "enabled drbd-reactor"
fi
# Remember what the running daemon loaded, to reload only when the promoter file changed.
stamp=/var/lib/gitlab-ha/drbd-reactor.applied
want=$(sha256sum "$PROMOTER_FILE" | cut -d' ' -f1)
if ! systemctl is-active --quiet drbd-reactor; then
  systemctl start drbd-reactor
  changed "started drbd-reactor"
elif [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  systemctl reload drbd-reactor
  changed "reloaded drbd-reactor"
fi
mkdir -p "$(dirname "$stamp")"
echo "$want" >"$stamp"
if [ "$(systemctl is-enabled "$GITLAB_UNIT" 2>/dev/null || true)" = enabled ]; then
  systemctl disable --quiet "$GITLAB_UNIT"
  changed "disabled $GITLAB_UNIT at boot (the promoter starts it)"
fi
