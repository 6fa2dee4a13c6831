# Commands of hosts/drbd-witness, in order (gitlab-ha offline render).

# [1] firewall-drbd-witness-install
#     after: -
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install the OS's iptables persistence, mask firewalld
# host: drbd-witness
OS_FAMILY=dnf
DOCKER_OWED=/var/lib/gitlab-ha/docker-restart-after-firewalld
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
GITLAB_HA_SCRIPT
)"

# [2] firewall-drbd-witness-rules-write
#     after: firewall-drbd-witness-install
#     stdin: files/etc/gitlab-ha/iptables.rules (mode 0600, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-ha/iptables.rules on drbd-witness
# host: drbd-witness
FILE_PATH=/etc/gitlab-ha/iptables.rules
FILE_MODE=0600
FILE_OWNER=root
FILE_GROUP=root
FILE_MKDIR=true
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Writes stdin to $FILE_PATH with $FILE_MODE and $FILE_OWNER:$FILE_GROUP, atomically, and only
# when content, mode or ownership differ: an unchanged file keeps its mtime, so services that
# compare mtimes (PostgreSQL reloads) see no change.
dir=$(dirname "$FILE_PATH")
if [ ! -d "$dir" ]; then
  [ "$FILE_MKDIR" = true ] || die "directory $dir does not exist"
  install -d -m 0755 -o "$FILE_OWNER" -g "$FILE_GROUP" "$dir"
  changed "$dir created"
fi
tmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
if [ -f "$FILE_PATH" ] && cmp -s "$tmp" "$FILE_PATH"; then
  if [ "$(stat -c '%a %U %G' "$FILE_PATH")" != "${FILE_MODE#0} $FILE_OWNER $FILE_GROUP" ]; then
    chmod "$FILE_MODE" "$FILE_PATH"
    chown "$FILE_OWNER:$FILE_GROUP" "$FILE_PATH"
    changed "$FILE_PATH: mode/owner set to $FILE_MODE $FILE_OWNER:$FILE_GROUP"
  fi
  exit 0
fi
chmod "$FILE_MODE" "$tmp"
chown "$FILE_OWNER:$FILE_GROUP" "$tmp"
mv -f "$tmp" "$FILE_PATH"
changed "$FILE_PATH written"
GITLAB_HA_SCRIPT
)"

# [3] firewall-drbd-witness-rules6-write
#     after: firewall-drbd-witness-install
#     stdin: files/etc/gitlab-ha/ip6tables.rules (mode 0600, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-ha/ip6tables.rules on drbd-witness
# host: drbd-witness
FILE_PATH=/etc/gitlab-ha/ip6tables.rules
FILE_MODE=0600
FILE_OWNER=root
FILE_GROUP=root
FILE_MKDIR=true
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Writes stdin to $FILE_PATH with $FILE_MODE and $FILE_OWNER:$FILE_GROUP, atomically, and only
# when content, mode or ownership differ: an unchanged file keeps its mtime, so services that
# compare mtimes (PostgreSQL reloads) see no change.
dir=$(dirname "$FILE_PATH")
if [ ! -d "$dir" ]; then
  [ "$FILE_MKDIR" = true ] || die "directory $dir does not exist"
  install -d -m 0755 -o "$FILE_OWNER" -g "$FILE_GROUP" "$dir"
  changed "$dir created"
fi
tmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
if [ -f "$FILE_PATH" ] && cmp -s "$tmp" "$FILE_PATH"; then
  if [ "$(stat -c '%a %U %G' "$FILE_PATH")" != "${FILE_MODE#0} $FILE_OWNER $FILE_GROUP" ]; then
    chmod "$FILE_MODE" "$FILE_PATH"
    chown "$FILE_OWNER:$FILE_GROUP" "$FILE_PATH"
    changed "$FILE_PATH: mode/owner set to $FILE_MODE $FILE_OWNER:$FILE_GROUP"
  fi
  exit 0
fi
chmod "$FILE_MODE" "$tmp"
chown "$FILE_OWNER:$FILE_GROUP" "$tmp"
mv -f "$tmp" "$FILE_PATH"
changed "$FILE_PATH written"
GITLAB_HA_SCRIPT
)"

# [4] firewall-drbd-witness-apply
#     after: firewall-drbd-witness-rules-write, firewall-drbd-witness-rules6-write
#     stdin: none
#     re-run when changed: ["9df3f0d460a7674fe5bb5f599a5cb04727c307ad9d6e2a9cac60d357ef54ccb3","a58a984f2e07e8d0f9b252d5374b74eea472130c146f6b3ed5a15febfc4e39b3"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: apply chains GITLAB-HA-INPUT and GITLAB-HA-DOCKER (IPv4 and IPv6) and persist them
# host: drbd-witness
RULES_FILE=/etc/gitlab-ha/iptables.rules
RULES_FILE6=/etc/gitlab-ha/ip6tables.rules
CHAIN=GITLAB-HA-INPUT
DOCKER_CHAIN=GITLAB-HA-DOCKER
PERSIST_FILE=/etc/sysconfig/iptables
PERSIST_FILE6=/etc/sysconfig/ip6tables
SSH_SOURCES=(10.228.0.0/16)
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Loads $RULES_FILE with iptables and $RULES_FILE6 with ip6tables (chains $CHAIN and, on hosts
# where Docker publishes GitLab's ports, $DOCKER_CHAIN only), makes INPUT and DOCKER-USER jump to
# them first and once, and persists those chains alone for boot. Nothing differs: nothing is
# touched and nothing printed.
for f in "$RULES_FILE" "$RULES_FILE6"; do
  [ -f "$f" ] || die "$f is missing: the rules file step did not run"
done
command -v iptables-restore >/dev/null 2>&1 || die "iptables-restore is missing: the firewall install step did not run"

# IPv4 CIDR match in awk (numbers stay exact below 2^53). A bare address is a /32.
in_cidr4() {
  awk -v a="$1" -v c="$2" '
    function n(s,   p, i) {
      if (split(s, p, ".") != 4) return -1
      for (i = 1; i <= 4; i++) if (p[i] !~ /^[0-9]+$/ || p[i] + 0 > 255) return -1
      return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4]
    }
    BEGIN {
      k = split(c, x, "/"); bits = (k == 2 ? x[2] : 32)
      if (k > 2 || bits !~ /^[0-9]+$/ || bits + 0 > 32 || n(a) < 0 || n(x[1]) < 0) exit 1
      size = 2 ^ (32 - bits)
      exit !(int(n(a) / size) == int(n(x[1]) / size))
    }'
}

# IPv6 CIDR match in awk: both sides expanded to 32 hex digits, compared on the prefix's bits.
in_cidr6() {
  awk -v a="$1" -v c="$2" '
    function groups(s, g,   k, i) {
      if (s == "") return 0
      k = split(s, g, ":")
      for (i = 1; i <= k; i++) if (g[i] !~ /^[0-9a-f]+$/ || length(g[i]) > 4) return -1
      return k
    }
    function expand(s,   h, l, r, nl, nr, pad, i, out) {
      s = tolower(s)
      if (index(s, "::")) {
        if (s ~ /::.*::/) return ""
        split(s, h, "::"); nl = groups(h[1], l); nr = groups(h[2], r)
        if (nl < 0 || nr < 0 || nl + nr > 7) return ""
        pad = 8 - nl - nr
      } else {
        nl = groups(s, l); nr = 0; pad = 0
        if (nl != 8) return ""
      }
      out = ""
      for (i = 1; i <= nl; i++) out = out substr("0000", 1, 4 - length(l[i])) l[i]
      for (i = 1; i <= pad; i++) out = out "0000"
      for (i = 1; i <= nr; i++) out = out substr("0000", 1, 4 - length(r[i])) r[i]
      return out
    }
    function hex(ch) { return index("0123456789abcdef", ch) - 1 }
    BEGIN {
      k = split(c, x, "/"); bits = (k == 2 ? x[2] : 128)
      A = expand(a); C = expand(x[1])
      if (k > 2 || bits !~ /^[0-9]+$/ || bits + 0 > 128 || A == "" || C == "") exit 1
      full = int(bits / 4); rest = bits % 4
      if (substr(A, 1, full) != substr(C, 1, full)) exit 1
      if (rest == 0) exit 0
      d = 2 ^ (4 - rest)
      exit !(int(hex(substr(A, full + 1, 1)) / d) == int(hex(substr(C, full + 1, 1)) / d))
    }'
}

# Refuse to cut the session applying this. sudo drops SSH_CONNECTION from the environment, so
# look for it in the ancestors (sudo itself keeps its caller's environment).
client=${SSH_CONNECTION:-}
pid=$PPID
for _ in $(seq 1 30); do
  if [ -n "$client" ] || [ "${pid:-0}" -le 1 ]; then break; fi
  client=$({ tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | sed -n 's/^SSH_CONNECTION=//p' || true)
  pid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
done
client=${client%% *}
client=${client%%\%*}
client=${client#::ffff:}
# Both families are filtered, so a client of either is checked against the sources of its family.
if [ -n "$client" ]; then
  ok=false
  for src in "${SSH_SOURCES[@]}"; do
    if [[ $client == *:* ]]; then
      [[ $src == *:* ]] && in_cidr6 "$client" "$src" && { ok=true; break; }
    else
      [[ $src != *:* ]] && in_cidr4 "$client" "$src" && { ok=true; break; }
    fi
  done
  [ "$ok" = true ] || die "this SSH session comes from $client, outside the allowed SSH sources (${SSH_SOURCES[*]}): applying the firewall could lock it out; add it to the SSH sources"
fi

tmp=$(mktemp)
ipt=iptables
cleanup() {
  rm -f "$tmp"
  for c in "$CHAIN-NEW" "$DOCKER_CHAIN-NEW"; do
    if "$ipt" -w -n -L "$c" >/dev/null 2>&1; then "$ipt" -w -F "$c" && "$ipt" -w -X "$c"; fi
  done
}
trap cleanup EXIT

# Makes chain $2 jump to chain $3 exactly once, as its first rule: rules before it could accept
# what the chain refuses. Highest rule number deleted first, so the numbers left stay valid.
jump_first() {
  local from=$2 to=$3 jumps
  jumps=$("$ipt" -w -n -L "$from" --line-numbers | awk -v c="$to" '$2 == c { print $1 }')
  if [ "$jumps" != 1 ] || [ "$("$ipt" -w -S "$from" | grep -m 1 '^-A ' || true)" != "-A $from -j $to" ]; then
    sort -rn <<<"$jumps" | while read -r n; do [ -z "$n" ] || "$ipt" -w -D "$from" "$n"; done
    "$ipt" -w -I "$from" 1 -j "$to"
    changed "$1: $from jumps to $to first"
  fi
}

rules_of() { "$ipt" -w -S "$1" 2>/dev/null | sed -E "s/^(-[NA]) $1( |\$)/\\1 chain\\2/"; }

# apply_family <iptables|ip6tables> <rules file> <persist file>
apply_family() {
  ipt=$1
  local rules=$2 persist=$3 docker=false c
  command -v "$ipt-restore" >/dev/null 2>&1 || die "$ipt-restore is missing: the firewall install step did not run"
  if grep -q "^:$DOCKER_CHAIN " "$rules"; then docker=true; fi

  # Load the desired chains beside the live ones under other names, then compare.
  sed -E "s/^(:|-[AFN] )($CHAIN|$DOCKER_CHAIN)( |\$)/\\1\\2-NEW\\3/" "$rules" >"$tmp"
  "$ipt-restore" -w 10 --noflush <"$tmp" || die "$ipt-restore rejected $rules"
  local differ=false
  for c in "$CHAIN" "$DOCKER_CHAIN"; do
    if [ "$c" = "$CHAIN" ] || [ "$docker" = true ]; then
      [ "$(rules_of "$c")" = "$(rules_of "$c-NEW")" ] || differ=true
    fi
  done
  if [ "$differ" = true ]; then
    "$ipt-restore" -w 10 --noflush <"$rules"
    changed "$ipt: chains loaded from $rules"
  fi
  cleanup

  jump_first "$ipt" INPUT "$CHAIN"
  if [ "$docker" = true ]; then
    # moby libnetwork/firewall_linux.go (setupUserChain): the daemon creates DOCKER-USER only when
    # missing and "does not delete or modify any pre-existing rules" in it, and makes FORWARD
    # jump to it; so the chain may be made here, before Docker runs, and survives its restarts.
    if ! "$ipt" -w -n -L DOCKER-USER >/dev/null 2>&1; then
      "$ipt" -w -N DOCKER-USER
      changed "$ipt: chain DOCKER-USER created"
    fi
    jump_first "$ipt" DOCKER-USER "$DOCKER_CHAIN"
  elif "$ipt" -w -n -L "$DOCKER_CHAIN" >/dev/null 2>&1; then
    # No longer a host of published GitLab ports: the chain and its jumps go.
    while "$ipt" -w -D DOCKER-USER -j "$DOCKER_CHAIN" 2>/dev/null; do :; done
    "$ipt" -w -F "$DOCKER_CHAIN"
    "$ipt" -w -X "$DOCKER_CHAIN"
    changed "$ipt: chain $DOCKER_CHAIN removed"
  fi

  # Persist the program's own chains and jumps only, never Docker's runtime rules (its DNAT to
  # container addresses of the moment): Docker writes its own when it starts, after this file is
  # restored at boot. No counters, so the file changes only when rules do.
  local want current
  want=$(
    printf '%s\n' "# gitlab-ha: chains $CHAIN and $DOCKER_CHAIN only, restored at boot (Docker adds its own rules when it starts)." "*filter" ":$CHAIN - [0:0]"
    if [ "$docker" = true ]; then printf '%s\n' ":DOCKER-USER - [0:0]" ":$DOCKER_CHAIN - [0:0]"; fi
    "$ipt" -w -S "$CHAIN" | grep '^-A '
    if [ "$docker" = true ]; then "$ipt" -w -S "$DOCKER_CHAIN" | grep '^-A '; fi
    printf '%s\n' "-A INPUT -j $CHAIN"
    if [ "$docker" = true ]; then printf '%s\n' "-A DOCKER-USER -j $DOCKER_CHAIN"; fi
    printf '%s\n' "COMMIT"
  )
  current=$(cat "$persist" 2>/dev/null || true)
  if [ "$want" != "$current" ]; then
    local dir ptmp
    dir=$(dirname "$persist")
    if [ ! -d "$dir" ]; then
      install -d -m 0755 "$dir"
      changed "$dir created"
    fi
    ptmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
    printf '%s\n' "$want" >"$ptmp"
    chmod 0600 "$ptmp"
    mv -f "$ptmp" "$persist"
    changed "$persist written"
  fi
}

apply_family iptables "$RULES_FILE" "$PERSIST_FILE"
# A kernel without IPv6 (ipv6.disable=1) has no IPv6 traffic to filter and no ip6tables tables.
if [ -e /proc/net/if_inet6 ]; then
  apply_family ip6tables "$RULES_FILE6" "$PERSIST_FILE6"
fi
GITLAB_HA_SCRIPT
)"

# [5] drbd-drbd-witness-install
#     after: -
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install DRBD tools, keep drbd.service off at boot
# host: drbd-witness
OS_FAMILY=dnf
PACKAGES=(drbd9x-utils kmod-drbd9x)
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
GITLAB_HA_SCRIPT
)"

# [6] drbd-drbd-witness-global-write
#     after: drbd-drbd-witness-install
#     stdin: files/etc/drbd.d/global_common.conf (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/drbd.d/global_common.conf on drbd-witness
# host: drbd-witness
FILE_PATH=/etc/drbd.d/global_common.conf
FILE_MODE=0644
FILE_OWNER=root
FILE_GROUP=root
FILE_MKDIR=false
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Writes stdin to $FILE_PATH with $FILE_MODE and $FILE_OWNER:$FILE_GROUP, atomically, and only
# when content, mode or ownership differ: an unchanged file keeps its mtime, so services that
# compare mtimes (PostgreSQL reloads) see no change.
dir=$(dirname "$FILE_PATH")
if [ ! -d "$dir" ]; then
  [ "$FILE_MKDIR" = true ] || die "directory $dir does not exist"
  install -d -m 0755 -o "$FILE_OWNER" -g "$FILE_GROUP" "$dir"
  changed "$dir created"
fi
tmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
if [ -f "$FILE_PATH" ] && cmp -s "$tmp" "$FILE_PATH"; then
  if [ "$(stat -c '%a %U %G' "$FILE_PATH")" != "${FILE_MODE#0} $FILE_OWNER $FILE_GROUP" ]; then
    chmod "$FILE_MODE" "$FILE_PATH"
    chown "$FILE_OWNER:$FILE_GROUP" "$FILE_PATH"
    changed "$FILE_PATH: mode/owner set to $FILE_MODE $FILE_OWNER:$FILE_GROUP"
  fi
  exit 0
fi
chmod "$FILE_MODE" "$tmp"
chown "$FILE_OWNER:$FILE_GROUP" "$tmp"
mv -f "$tmp" "$FILE_PATH"
changed "$FILE_PATH written"
GITLAB_HA_SCRIPT
)"

# [7] drbd-drbd-witness-res-write
#     after: drbd-drbd-witness-install
#     stdin: files/etc/drbd.d/gitlab.res (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/drbd.d/gitlab.res on drbd-witness
# host: drbd-witness
FILE_PATH=/etc/drbd.d/gitlab.res
FILE_MODE=0644
FILE_OWNER=root
FILE_GROUP=root
FILE_MKDIR=false
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Writes stdin to $FILE_PATH with $FILE_MODE and $FILE_OWNER:$FILE_GROUP, atomically, and only
# when content, mode or ownership differ: an unchanged file keeps its mtime, so services that
# compare mtimes (PostgreSQL reloads) see no change.
dir=$(dirname "$FILE_PATH")
if [ ! -d "$dir" ]; then
  [ "$FILE_MKDIR" = true ] || die "directory $dir does not exist"
  install -d -m 0755 -o "$FILE_OWNER" -g "$FILE_GROUP" "$dir"
  changed "$dir created"
fi
tmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
if [ -f "$FILE_PATH" ] && cmp -s "$tmp" "$FILE_PATH"; then
  if [ "$(stat -c '%a %U %G' "$FILE_PATH")" != "${FILE_MODE#0} $FILE_OWNER $FILE_GROUP" ]; then
    chmod "$FILE_MODE" "$FILE_PATH"
    chown "$FILE_OWNER:$FILE_GROUP" "$FILE_PATH"
    changed "$FILE_PATH: mode/owner set to $FILE_MODE $FILE_OWNER:$FILE_GROUP"
  fi
  exit 0
fi
chmod "$FILE_MODE" "$tmp"
chown "$FILE_OWNER:$FILE_GROUP" "$tmp"
mv -f "$tmp" "$FILE_PATH"
changed "$FILE_PATH written"
GITLAB_HA_SCRIPT
)"

# [8] drbd-drbd-witness-check
#     after: drbd-drbd-witness-global-write, drbd-drbd-witness-res-write
#     stdin: none
#     re-run when changed: ["a14ea85e061a661b7d4757ccd942916738a4e5dcdeed869594539390b995ed27","eca58908e2d9f653d45658dc6563c6b381cc5b1b1b70a95a664f34b6dfdb2dd0"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: validate DRBD resource gitlab with drbdadm; no fstab mount
# host: drbd-witness
RESOURCE=gitlab
DEVICE=/dev/drbd0
DISK=''
MOUNT_POINT=/vdb
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Validates the rendered configuration with drbdadm itself (it also checks that this host's name
# and address appear in the resource) and keeps the volume out of /etc/fstab.
drbdadm sh-nop >/dev/null || die "drbdadm rejects the configuration in /etc/drbd.d"
drbdadm dump "$RESOURCE" >/dev/null || die "drbdadm cannot read resource $RESOURCE for this host ($(uname -n))"
# The volume is mounted by the failover engine only: no boot-time mount of the device or disk.
if awk -v dev="$DEVICE" -v disk="$DISK" -v mnt="$MOUNT_POINT" \
  '$1 !~ /^#/ && ($1 == dev || (disk != "" && $1 == disk) || $2 == mnt) { found = 1 } END { exit !found }' /etc/fstab 2>/dev/null; then
  cp -p /etc/fstab /etc/fstab.before-gitlab-ha
  awk -v dev="$DEVICE" -v disk="$DISK" -v mnt="$MOUNT_POINT" \
    '$1 !~ /^#/ && ($1 == dev || (disk != "" && $1 == disk) || $2 == mnt) { print "# disabled by gitlab-ha (the failover engine mounts it): " $0; next } { print }' \
    /etc/fstab.before-gitlab-ha >/etc/fstab
  changed "/etc/fstab: boot-time mount of $DEVICE disabled (copy in /etc/fstab.before-gitlab-ha)"
fi
GITLAB_HA_SCRIPT
)"

# [9] drbd-drbd-witness-unit-write
#     after: drbd-drbd-witness-check
#     stdin: files/etc/systemd/system/drbd-tiebreaker-gitlab.service (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/drbd-tiebreaker-gitlab.service on drbd-witness
# host: drbd-witness
FILE_PATH=/etc/systemd/system/drbd-tiebreaker-gitlab.service
FILE_MODE=0644
FILE_OWNER=root
FILE_GROUP=root
FILE_MKDIR=false
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Writes stdin to $FILE_PATH with $FILE_MODE and $FILE_OWNER:$FILE_GROUP, atomically, and only
# when content, mode or ownership differ: an unchanged file keeps its mtime, so services that
# compare mtimes (PostgreSQL reloads) see no change.
dir=$(dirname "$FILE_PATH")
if [ ! -d "$dir" ]; then
  [ "$FILE_MKDIR" = true ] || die "directory $dir does not exist"
  install -d -m 0755 -o "$FILE_OWNER" -g "$FILE_GROUP" "$dir"
  changed "$dir created"
fi
tmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
if [ -f "$FILE_PATH" ] && cmp -s "$tmp" "$FILE_PATH"; then
  if [ "$(stat -c '%a %U %G' "$FILE_PATH")" != "${FILE_MODE#0} $FILE_OWNER $FILE_GROUP" ]; then
    chmod "$FILE_MODE" "$FILE_PATH"
    chown "$FILE_OWNER:$FILE_GROUP" "$FILE_PATH"
    changed "$FILE_PATH: mode/owner set to $FILE_MODE $FILE_OWNER:$FILE_GROUP"
  fi
  exit 0
fi
chmod "$FILE_MODE" "$tmp"
chown "$FILE_OWNER:$FILE_GROUP" "$tmp"
mv -f "$tmp" "$FILE_PATH"
changed "$FILE_PATH written"
GITLAB_HA_SCRIPT
)"

# [10] drbd-drbd-witness-up
#     after: drbd-drbd-witness-unit-write, firewall-drbd-witness-apply
#     stdin: none
#     re-run when changed: ["477a95be11be74cfff9f76103b2c902c2eaaa25071bdaa8523c3b13f1c108ccf"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: keep DRBD resource gitlab up diskless at boot (tiebreaker)
# host: drbd-witness
RESOURCE=gitlab
UNIT=drbd-tiebreaker-gitlab.service
ACTIVATE=true
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Keeps the diskless tiebreaker's vote: its unit (written by an earlier step) enabled at boot and,
# with ACTIVATE, started now (it loads the module and brings the resource up). Without ACTIVATE
# (lab hosts: no kernel module) the unit is only enabled.
unit_missing() { [ "$(systemctl show -p LoadState --value "$UNIT")" = not-found ]; }

if [ "$(systemctl show -p NeedDaemonReload --value "$UNIT")" = yes ]; then
  systemctl daemon-reload
  changed "systemd reloaded units for $UNIT"
fi
unit_missing && die "$UNIT is not installed: the unit file step did not run"
case "$(systemctl is-enabled "$UNIT" 2>/dev/null || true)" in
  enabled) ;;
  masked | masked-runtime) die "$UNIT is masked: this node's quorum vote would be lost at the next boot; unmask it deliberately (systemctl unmask $UNIT)" ;;
  *)
    systemctl enable --quiet "$UNIT"
    changed "enabled $UNIT at boot"
    ;;
esac

[ "$ACTIVATE" = true ] || exit 0
if ! systemctl is-active --quiet "$UNIT"; then
  systemctl start "$UNIT" || die "$UNIT failed to bring $RESOURCE up (journalctl -u $UNIT)"
  changed "started $UNIT: drbd module loaded, $RESOURCE up diskless"
elif ! drbdadm status "$RESOURCE" >/dev/null 2>&1; then
  # The unit ran, but the resource was taken down by hand since.
  systemctl restart "$UNIT" || die "$UNIT failed to bring $RESOURCE up (journalctl -u $UNIT)"
  changed "restarted $UNIT: $RESOURCE was down"
fi
GITLAB_HA_SCRIPT
)"

# [11] drbd-drbd-witness-adjust
#     after: drbd-drbd-witness-check, drbd-drbd-witness-up
#     stdin: none
#     re-run when changed: ["a14ea85e061a661b7d4757ccd942916738a4e5dcdeed869594539390b995ed27","eca58908e2d9f653d45658dc6563c6b381cc5b1b1b70a95a664f34b6dfdb2dd0"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: apply changed DRBD configuration to gitlab (drbdadm adjust, disruptive plans refused while in use)
# host: drbd-witness
RESOURCE=gitlab
ACTIVATE=true
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Brings changes of /etc/drbd.d (the resource file, global_common.conf) to the running resource
# with `drbdadm adjust`, after reading its plan: `-d` prints every drbdsetup call adjust would make
# (drbd-utils user/shared/shared_main.c, dry_run), and adjust plans `detach`/`del-minor` when a
# disk or volume changes (user/v9/drbdadm_adjust.c adjust_disk). Such a plan, or a `down`, is
# refused while the resource is in use here (Primary or its device open): that would pull the
# disk from under GitLab. A resource that is down is left down; it comes up with the new files.
[ "$ACTIVATE" = true ] || exit 0
drbdadm status "$RESOURCE" >/dev/null 2>&1 || exit 0
plan=$(drbdadm -d adjust "$RESOURCE") || die "drbdadm -d adjust $RESOURCE failed: the configuration in /etc/drbd.d cannot be applied"
[ -n "$plan" ] || exit 0
# Plan lines name drbdsetup (as a path when drbdadm was given one), then the call.
disruptive=$(awk '$1 ~ /(^|\/)drbdsetup$/ && ($2 == "down" || $2 == "detach" || $2 == "del-minor") { sub(/^[^ ]*\//, ""); print }' <<<"$plan")
if [ -n "$disruptive" ]; then
  role=$(drbdadm role "$RESOURCE" 2>/dev/null || echo Unknown)
  open=$(drbdsetup events2 --now "$RESOURCE" 2>/dev/null | awk '$1 == "exists" && $2 == "device" { for (i = 3; i <= NF; i++) if ($i == "open:yes") o = "yes" } END { print o == "yes" ? "yes" : "no" }')
  if [ "$role" = Primary ] || [ "$open" = yes ]; then
    die "refusing drbdadm adjust $RESOURCE on $(uname -n): it is in use here (role $role, device open: $open) and the new configuration would run: $(paste -sd ';' <<<"$disruptive" | sed 's/;/; /g'). Move GitLab to another node (or stop it) and run pulumi up again, or apply the change by hand"
  fi
fi
drbdadm adjust "$RESOURCE" || die "drbdadm adjust $RESOURCE failed"
changed "adjusted DRBD resource $RESOURCE: $(awk '{ sub(/^[^ ]*\//, ""); print }' <<<"$plan" | paste -sd ';' | sed 's/;/; /g')"
GITLAB_HA_SCRIPT
)"
