# Installs drbd-utils (and the kernel module package when config names one) and keeps
# drbd.service disabled: the failover engine, not boot, decides where the volume is active.
require_family
installed() {
  case "$OS_FAMILY" in
    apt) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' ;;
    dnf) rpm -q "$1" >/dev/null 2>&1 ;;
  esac
}
for pkg in "${PACKAGES[@]}"; do
  installed "$pkg" && continue
  case "$OS_FAMILY" in
    apt) DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null ;;
    dnf) dnf install -y -q "$pkg" >/dev/null ;;
  esac
  changed "installed $pkg"
done
if [ "$(systemctl is-enabled drbd.service 2>/dev/null || true)" = enabled ]; then
  systemctl disable --quiet drbd.service
  changed "disabled drbd.service at boot"
fi
