# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) type -P apt-get >/dev/null || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) type -P dnf >/dev/null || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}

# The engine runs independent steps on one host at the same time. apt and dnf take an exclusive
# lock and fail at once when another run holds it (apt: "Could not get lock /var/lib/dpkg/lock-frontend"),
# so every package-manager call of ours queues on one lock file; apt also waits for other holders
# (unattended-upgrades) through DPkg::Lock::Timeout (apt >= 1.9.11, apt-get(8)).
with_package_lock() {
  local rc=0 lock_fd
  # A descriptor of its own (bash picks a free one), so a step's other locks are left alone.
  exec {lock_fd}>>/run/lock/gitlab-ha-packages.lock
  flock -w 1800 "$lock_fd" || die "waited 30 minutes for another package-manager step on this host"
  "$@" || rc=$?
  exec {lock_fd}>&-
  return "$rc"
}
apt-get() { with_package_lock command apt-get -o DPkg::Lock::Timeout=600 "$@"; }
dnf() { with_package_lock command dnf "$@"; }

# Reloads systemd once when a unit file or drop-in of any of the given units changed on disk.
reload_units_if_changed() {
  local unit
  for unit in "$@"; do
    if [ "$(systemctl show -p NeedDaemonReload --value "$unit")" = yes ]; then
      systemctl daemon-reload
      changed "systemd reloaded units for $unit"
      return 0
    fi
  done
}
