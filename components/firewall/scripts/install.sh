# Installs what restores the saved rules at boot, only when missing: iptables-persistent (apt,
# restores /etc/iptables/rules.v4 and rules.v6) or iptables-services (dnf, /etc/sysconfig/iptables
# and ip6tables), and masks firewalld: the program manages the filter table itself.
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
    ;;
esac

# firewalld (the EL default) would fight these rules: its unit declares Conflicts=iptables.service
# ip6tables.service (firewalld config/firewalld.service.in), so enabling both leaves boot to
# whichever starts last, and its own zone table rejects the ports opened here. It is stopped and
# masked (also where it is not installed, so a later install cannot start it).
# Stopping a running firewalld < 2.0 flushes every iptables table, Docker's chains included
# (CleanupOnExit defaults to yes: firewalld v1.3.x src/firewall/core/fw.py stop() -> flush()), and
# Docker does not put them back (moby libnetwork/iptables/firewalld.go connectionLost does
# nothing): Docker is restarted after such a stop, which recreates its chains. The marker keeps
# that restart owed when this step fails in between.
firewalld_active() { systemctl is-active --quiet firewalld.service; }
if [ "$(systemctl is-enabled firewalld.service 2>/dev/null || true)" != masked ]; then
  if firewalld_active; then mkdir -p "$(dirname "$DOCKER_OWED")" && : >"$DOCKER_OWED"; fi
  systemctl mask --quiet --now firewalld.service
  changed "firewalld stopped and masked"
elif firewalld_active; then
  mkdir -p "$(dirname "$DOCKER_OWED")" && : >"$DOCKER_OWED"
  systemctl stop firewalld.service
  changed "firewalld stopped"
fi
if [ -e "$DOCKER_OWED" ]; then
  # A Docker that is not running creates its chains when it starts.
  if systemctl is-active --quiet docker.service; then
    systemctl restart docker.service
    changed "restarted docker: firewalld's stop flushed its iptables chains"
  fi
  rm -f "$DOCKER_OWED"
fi

if [ "$OS_FAMILY" = dnf ]; then
  # Enabled for boot only: starting them now would load the package's default rules, not ours
  # (the apply step loads and saves ours).
  for unit in iptables ip6tables; do
    if ! systemctl is-enabled --quiet "$unit" 2>/dev/null; then
      systemctl enable --quiet "$unit"
      changed "enabled $unit"
    fi
  done
fi
