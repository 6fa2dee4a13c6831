# Installs what restores the saved IPv4 rules at boot, only when missing: iptables-persistent
# (apt, restores /etc/iptables/rules.v4) or iptables-services (dnf, /etc/sysconfig/iptables).
require_family
case "$OS_FAMILY" in
  apt)
    if ! dpkg-query -W -f='${Status}' iptables-persistent 2>/dev/null | grep -q 'install ok installed'; then
      # Unanswered, its postinst would ask (and could save whatever rules are loaded right now).
      printf '%s\n' 'iptables-persistent iptables-persistent/autosave_v4 boolean false' \
        'iptables-persistent iptables-persistent/autosave_v6 boolean false' | debconf-set-selections
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q >/dev/null
      apt-get install -y -q iptables-persistent >/dev/null
      changed "installed iptables-persistent"
    fi
    ;;
  dnf)
    if ! rpm -q iptables-services >/dev/null 2>&1; then
      dnf install -y -q iptables-services >/dev/null
      changed "installed iptables-services"
    fi
    # Enabled for boot only: starting it now would load the package's default rules, not ours
    # (the apply step loads and saves ours).
    if ! systemctl is-enabled --quiet iptables 2>/dev/null; then
      systemctl enable --quiet iptables
      changed "enabled iptables"
    fi
    ;;
esac
