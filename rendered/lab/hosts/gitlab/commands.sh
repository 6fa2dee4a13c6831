# Commands of hosts/gitlab, in order (gitlab-ha offline render).

# [1] lab-stand-ins-gitlab-disk
#     after: lab-gitlab
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: lab stand-in disk for DRBD
# host: gitlab
DISK=/dev/vdb1
SIZE_MB=256
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
# LAB STAND-IN DISK: lab containers have no spare block device, so the configured DRBD disk path
# becomes a link to a sparse file. DRBD cannot attach it (no kernel module either), but the
# program's metadata and data guards run against it as against a real disk.
img="/var/lib/gitlab-ha-lab/disks/$(basename "$DISK").img"
if [ ! -e "$img" ]; then
  mkdir -p "$(dirname "$img")"
  truncate -s "${SIZE_MB}M" "$img"
  changed "lab stand-in disk $img (${SIZE_MB} MB, sparse)"
fi
if [ ! -e "$DISK" ]; then
  ln -s "$img" "$DISK"
  changed "$DISK -> $img (lab stand-in)"
fi
GITLAB_HA_SCRIPT
)"

# [2] lab-stand-ins-gitlab-sentinel-write
#     after: lab-gitlab
#     stdin: files/opt/git_sentinel/git_sentinel (mode 0755, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /opt/git_sentinel/git_sentinel on gitlab
# host: gitlab
FILE_PATH=/opt/git_sentinel/git_sentinel
FILE_MODE=0755
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

# [3] firewall-gitlab-install
#     after: lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install the OS's iptables persistence, mask firewalld
# host: gitlab
OS_FAMILY=apt
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

# [4] firewall-gitlab-rules-write
#     after: firewall-gitlab-install, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/etc/gitlab-ha/iptables.rules (mode 0600, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-ha/iptables.rules on gitlab
# host: gitlab
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

# [5] firewall-gitlab-rules6-write
#     after: firewall-gitlab-install, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/etc/gitlab-ha/ip6tables.rules (mode 0600, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-ha/ip6tables.rules on gitlab
# host: gitlab
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

# [6] firewall-gitlab-apply
#     after: firewall-gitlab-rules-write, firewall-gitlab-rules6-write, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: none
#     re-run when changed: ["9314cce35ff48ec104fbf2b3e5f10fb6d22882e0e06b57466d2d8ec3d478d97d","fa8c1fe0d2324aac878d360371b6ef438f8887620fb61a2eaaea1a32da0bf1c3"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: apply chains GITLAB-HA-INPUT and GITLAB-HA-DOCKER (IPv4 and IPv6) and persist them
# host: gitlab
RULES_FILE=/etc/gitlab-ha/iptables.rules
RULES_FILE6=/etc/gitlab-ha/ip6tables.rules
CHAIN=GITLAB-HA-INPUT
DOCKER_CHAIN=GITLAB-HA-DOCKER
PERSIST_FILE=/etc/iptables/rules.v4
PERSIST_FILE6=/etc/iptables/rules.v6
SSH_SOURCES=(172.31.88.1/32)
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

# [7] postgres-switchover-gitlab-stop-gitlab
#     after: lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write, postgres-switchover
#     stdin: given
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: stop GitLab on gitlab if a database switchover is due (the plan comes on stdin)
# host: gitlab
ACTION=stop
MODE=unit
GITLAB_UNIT=gitlab-container.service
CONTAINER=gitlab-ha-lab-gitlab-gitlab
HOST_NAME=gitlab
STATE_DIR=/run
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# GitLab's writes during a switchover. ACTION=stop (only when a switchover is due, $PENDING
# names it): stops GitLab on this node, through the failover engine's unit on DRBD nodes (so the
# engine does not see a failure to act on) or the container elsewhere, and leaves a marker.
# ACTION=start: starts what the marker says was stopped, once the database is the new primary.
# stdin: the switchover plan ("old -> new"), empty when none is due.
IFS= read -r PENDING || true
marker="$STATE_DIR/gitlab-ha-switchover-stopped-gitlab"
case "$ACTION" in
  stop)
    [ -n "$PENDING" ] || exit 0
    if [ "$MODE" = unit ]; then
      systemctl is-active --quiet "$GITLAB_UNIT" || exit 0
      touch "$marker"
      systemctl stop "$GITLAB_UNIT"
    else
      [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null || true)" = true ] || exit 0
      touch "$marker"
      docker stop --time 60 "$CONTAINER" >/dev/null
    fi
    changed "stopped GitLab on $HOST_NAME for the database switchover ($PENDING)"
    ;;
  start)
    [ -f "$marker" ] || exit 0
    # A re-pointed container may have been replaced, and so started, already.
    if [ "$MODE" = unit ] && ! systemctl is-active --quiet "$GITLAB_UNIT"; then
      systemctl start "$GITLAB_UNIT"
      changed "started GitLab on $HOST_NAME again after the database switchover"
    elif [ "$MODE" != unit ] && [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null || true)" != true ]; then
      docker start "$CONTAINER" >/dev/null
      changed "started GitLab on $HOST_NAME again after the database switchover"
    fi
    rm -f "$marker"
    ;;
  *) die "unknown ACTION '$ACTION'" ;;
esac
GITLAB_HA_SCRIPT
)"

# [8] drbd-gitlab-install
#     after: lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install DRBD tools, keep drbd.service off at boot
# host: gitlab
OS_FAMILY=apt
PACKAGES=(drbd-utils)
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

# [9] drbd-gitlab-global-write
#     after: drbd-gitlab-install, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/etc/drbd.d/global_common.conf (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/drbd.d/global_common.conf on gitlab
# host: gitlab
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

# [10] drbd-gitlab-res-write
#     after: drbd-gitlab-install, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/etc/drbd.d/gitlab.res (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/drbd.d/gitlab.res on gitlab
# host: gitlab
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

# [11] drbd-gitlab-check
#     after: drbd-gitlab-global-write, drbd-gitlab-res-write, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: none
#     re-run when changed: ["a14ea85e061a661b7d4757ccd942916738a4e5dcdeed869594539390b995ed27","f11fcafbd1e3e8db12fc3331bbb5baf6028e64c2dd9c9580b90d29c86853236c"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: validate DRBD resource gitlab with drbdadm; no fstab mount
# host: gitlab
RESOURCE=gitlab
DEVICE=/dev/drbd0
DISK=/dev/vdb1
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

# [12] drbd-gitlab-init
#     after: drbd-gitlab-check, drbd-gitlab2-init, drbd-witness-up, firewall-gitlab-apply, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: initialise DRBD resource gitlab once (initial primary)
# host: gitlab
RESOURCE=gitlab
DEVICE=/dev/drbd0
DISK=/dev/vdb1
MOUNT_POINT=/vdb
MAX_PEERS=6
ACTIVATE=false
INITIAL_PRIMARY=true
FILESYSTEM=ext4
DATA_PEERS=(gitlab2)
MARKER=/var/lib/gitlab-ha/drbd-gitlab.first-primary
CONNECT_WAIT=120
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# One-time initialisation of a data node, safe to repeat:
#  - create-md only when the disk carries no signature at all (a disk with DRBD metadata is
#    initialised already; a disk with anything else holds data and is refused);
#  - with ACTIVATE: bring the resource up; on the initial primary only, and only on a resource
#    that never held data (see below), force it primary; format the device only when it holds
#    no file system; mount it.
[ -e "$DISK" ] || die "disk $DISK does not exist on $(uname -n)"
signatures=$(wipefs --no-act --parsable "$DISK" 2>/dev/null | awk -F, '{ print $4 }' | sort -u | tr '\n' ' ')
case " $signatures " in
  *" drbd "*) ;;
  "  ")
    if [ "$ACTIVATE" = true ]; then
      drbdadm --force create-md --max-peers="$MAX_PEERS" "$RESOURCE" >/dev/null || die "create-md failed on $DISK"
    else
      # Without the kernel module (lab hosts) drbdadm cannot check the device and stops; run the
      # very drbdmeta command it plans (its dry run prints it).
      plan=$(drbdadm -d --force create-md --max-peers="$MAX_PEERS" "$RESOURCE" 2>/dev/null | grep '^drbdmeta ')
      [ -n "$plan" ] || die "drbdadm planned no create-md for $RESOURCE"
      read -r -a argv <<<"$plan"
      "${argv[@]}" >/dev/null 2>&1 || die "create-md failed on $DISK: $plan"
    fi
    changed "created DRBD metadata on $DISK (max peers $MAX_PEERS)"
    ;;
  *) die "$DISK holds data ($signatures) but no DRBD metadata: refusing to create metadata over it; wipe it yourself if it is not needed" ;;
esac

[ "$ACTIVATE" = true ] || exit 0
if ! grep -qw '^drbd' /proc/modules; then modprobe drbd || die "the drbd kernel module cannot be loaded"; fi
if ! drbdadm status "$RESOURCE" >/dev/null 2>&1; then
  drbdadm up "$RESOURCE"
  changed "brought resource $RESOURCE up"
fi
[ "$INITIAL_PRIMARY" = true ] || exit 0

# `primary --force` overrides quorum (drbd_nl.c drbd_set_role: SS_NO_QUORUM is retried with
# CS_FP_OUTDATE_PEERS when forced), so what this node sees now is no ground for it: an Outdated
# node in a partition also sees no UpToDate disk. It runs only on a resource that never held
# data: no marker from an earlier first primary, local metadata still as create-md wrote it
# (current UUID UUID_JUST_CREATED = 4, drbd-utils user/shared/drbdmeta.c v09_md_initialize; the
# kernel replaces it at the first promotion or sync, drbd_main.c), and every other data node
# connected and Inconsistent. Anything else with no UpToDate disk in sight is refused.
JUST_CREATED=0000000000000004
# Prints "<verdict> <why>": force, done (nothing to force), wait (connecting) or refuse.
first_primary_verdict() {
  local role uuid disk peer conn pdisk seen="" waiting="" blocking=""
  local -A peer_conn=() peer_disk=()
  role=$(drbdadm role "$RESOURCE" 2>/dev/null || echo Unknown)
  if [ "$role" = Primary ]; then echo "done $RESOURCE is Primary here"; return; fi
  # events2 --now: one line per object, key:value fields, no wrapping (drbdsetup_events2.c).
  disk=DUnknown
  while read -r kind name a b; do
    case $kind in
      local) disk=$name ;;
      peer) peer_conn[$name]=$a peer_disk[$name]=$b ;;
    esac
  done < <(drbdsetup events2 --now "$RESOURCE" 2>/dev/null | awk '
    function val(k,   i) { for (i = 3; i <= NF; i++) if (index($i, k ":") == 1) return substr($i, length(k) + 2); return "" }
    $1 == "exists" && $2 == "device" && val("volume") == "0" { print "local", val("disk") }
    $1 == "exists" && $2 == "connection" { conn[val("conn-name")] = val("connection") }
    $1 == "exists" && $2 == "peer-device" && val("volume") == "0" { pd[val("conn-name")] = val("peer-disk") }
    END { for (n in conn) print "peer", n, conn[n], (n in pd ? pd[n] : "DUnknown") }')
  if [ "$disk" = UpToDate ]; then echo "done the local disk is UpToDate"; return; fi
  for peer in "${!peer_conn[@]}"; do
    if [ "${peer_disk[$peer]}" = UpToDate ]; then echo "done $peer has an UpToDate disk"; return; fi
    seen+=" $peer:${peer_conn[$peer]}/${peer_disk[$peer]}"
  done
  uuid=$(drbdadm get-gi "$RESOURCE" 2>/dev/null | awk -F: 'NR == 1 { print $1 }')
  local facts="local disk $disk, current UUID ${uuid:-unknown}, peers${seen:- none}"
  if [ -e "$MARKER" ]; then
    echo "refuse $RESOURCE was made primary once already ($(cat "$MARKER")) and no node shows an UpToDate disk now ($facts)"
    return
  fi
  if [ "$uuid" != "$JUST_CREATED" ]; then
    echo "refuse the metadata on $DISK has held data (its current UUID is not create-md's), and no connected node shows an UpToDate disk ($facts)"
    return
  fi
  case $disk in
    Inconsistent) ;;
    Attaching | Negotiating | DUnknown | Diskless) echo "wait the local disk is $disk ($facts)"; return ;;
    *) echo "refuse the local disk is $disk, not Inconsistent ($facts)"; return ;;
  esac
  for peer in "${DATA_PEERS[@]}"; do
    conn=${peer_conn[$peer]:-unconfigured} pdisk=${peer_disk[$peer]:-DUnknown}
    if [ "$conn" != Connected ]; then
      waiting+=" $peer is $conn;"
    elif [ "$pdisk" != Inconsistent ]; then
      case $pdisk in
        Attaching | Negotiating | DUnknown | Diskless) waiting+=" $peer's disk is $pdisk;" ;;
        *) blocking+=" $peer's disk is $pdisk;" ;;
      esac
    fi
  done
  if [ -n "$blocking" ]; then echo "refuse a data node may hold data:$blocking ($facts)"; return; fi
  if [ -n "$waiting" ]; then echo "wait every data node must be connected and Inconsistent:$waiting ($facts)"; return; fi
  echo "force every data node is connected and Inconsistent, metadata fresh from create-md"
}

deadline=$((SECONDS + CONNECT_WAIT))
while :; do
  verdict=$(first_primary_verdict)
  case $verdict in
    "wait "*) [ "$SECONDS" -lt "$deadline" ] || break; sleep 2 ;;
    *) break ;;
  esac
done
case $verdict in
  force*)
    drbdadm primary --force "$RESOURCE"
    mkdir -p "$(dirname "$MARKER")"
    printf 'forced primary on %s at %s\n' "$(uname -n)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$MARKER"
    changed "forced $RESOURCE primary on its first initialisation (${verdict#force })"
    ;;
  done*) ;;
  wait*) die "not forcing $RESOURCE primary after ${CONNECT_WAIT}s: ${verdict#wait }" ;;
  *) die "refusing drbdadm primary --force $RESOURCE on $(uname -n): ${verdict#refuse }. --force overrides quorum and would make this node's data win; promote by hand only after checking every node (LINBIT user guide, manual split brain recovery)" ;;
esac
if [ "$(drbdadm role "$RESOURCE")" = Primary ]; then
  if [ -z "$(wipefs --no-act --parsable "$DEVICE" 2>/dev/null)" ]; then
    "mkfs.$FILESYSTEM" -q "$DEVICE" >/dev/null
    changed "created a $FILESYSTEM file system on $DEVICE"
  fi
  mkdir -p "$MOUNT_POINT"
  if ! mountpoint -q "$MOUNT_POINT"; then
    mount "$DEVICE" "$MOUNT_POINT"
    changed "mounted $DEVICE on $MOUNT_POINT"
  fi
fi
GITLAB_HA_SCRIPT
)"

# [13] drbd-gitlab-links
#     after: drbd-gitlab-init, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: place GitLab's directories on /vdb
# host: gitlab
MOUNT_POINT=/vdb
GITLAB_DIRS=(/etc/gitlab /var/opt/gitlab /var/log/gitlab)
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Places GitLab's directories on the volume: each lives under $MOUNT_POINT/gitlab/<path> and is
# reached through a symlink at its usual path, on every data node. Existing local content moves
# only on the node where the volume is mounted; elsewhere a non-empty directory is refused.
for dir in "${GITLAB_DIRS[@]}"; do
  target="$MOUNT_POINT/gitlab$dir"
  if [ -L "$dir" ]; then
    [ "$(readlink "$dir")" = "$target" ] || die "$dir links to $(readlink "$dir"), expected $target"
    continue
  fi
  if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
    mountpoint -q "$MOUNT_POINT" || die "$dir holds local data and the volume is not mounted here: refusing to hide it behind a link"
    [ ! -e "$target" ] || die "$dir holds local data and $target exists on the volume: merge them by hand"
    mkdir -p "$(dirname "$target")"
    cp -a "$dir" "$target"
    mv "$dir" "$dir.before-gitlab-ha"
    changed "copied $dir onto the volume (local copy kept as $dir.before-gitlab-ha)"
  elif [ -d "$dir" ]; then
    rmdir "$dir"
  fi
  mkdir -p "$(dirname "$dir")"
  ln -s "$target" "$dir"
  changed "$dir -> $target"
done
GITLAB_HA_SCRIPT
)"

# [14] drbd-gitlab-adjust
#     after: drbd-gitlab-check, drbd-gitlab-init, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: none
#     re-run when changed: ["a14ea85e061a661b7d4757ccd942916738a4e5dcdeed869594539390b995ed27","f11fcafbd1e3e8db12fc3331bbb5baf6028e64c2dd9c9580b90d29c86853236c"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: apply changed DRBD configuration to gitlab (drbdadm adjust, disruptive plans refused while in use)
# host: gitlab
RESOURCE=gitlab
ACTIVATE=false
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

# [15] gitlab-gitlab-unit-write
#     after: drbd-gitlab-links, firewall-gitlab-apply, lab-gitlab, lab-gitlab-stand-in, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write, postgres-pgsql-objects
#     stdin: files/etc/systemd/system/gitlab-container.service (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/gitlab-container.service on gitlab
# host: gitlab
FILE_PATH=/etc/systemd/system/gitlab-container.service
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

# [16] gitlab-gitlab-start
#     after: gitlab-gitlab-container, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: none
#     re-run when changed: ["gitlab-gitlab-container-id"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: start gitlab-container.service again where /dev/drbd0 is mounted
# host: gitlab
MOUNT_POINT=/vdb
DRBD_DEVICE=/dev/drbd0
GITLAB_UNIT=gitlab-container.service
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Runs after Pulumi created or replaced the GitLab container of a DRBD node. Replacing it stops the
# old container (destroyGraceSeconds) and so ends the failover engine's GitLab unit, whose
# ExecStart attaches to it. Where this node holds the volume (the DRBD device mounted on
# $MOUNT_POINT: only a Primary can mount it) GitLab starts again through that unit; on every other
# node nothing happens: GitLab must not run there.
if [ "$(findmnt -rn -o SOURCE --mountpoint "$MOUNT_POINT" 2>/dev/null || true)" != "$DRBD_DEVICE" ]; then
  exit 0
fi
[ "$(systemctl show -p LoadState --value "$GITLAB_UNIT")" != not-found ] || die "$GITLAB_UNIT is not installed: the failover step did not run"
if [ "$(systemctl show -p NeedDaemonReload --value "$GITLAB_UNIT")" = yes ]; then
  systemctl daemon-reload
  changed "systemd reloaded units for $GITLAB_UNIT"
fi
if ! systemctl is-active --quiet "$GITLAB_UNIT"; then
  systemctl start "$GITLAB_UNIT"
  changed "started $GITLAB_UNIT: this node holds $DRBD_DEVICE on $MOUNT_POINT"
fi
GITLAB_HA_SCRIPT
)"

# [17] backup-gitlab-backup-script-write
#     after: gitlab-gitlab-config, gitlab-gitlab-container, gitlab-gitlab-engine, gitlab-gitlab-reconfigure, gitlab-gitlab-start, gitlab-gitlab-unit-write, gitlab-gitlab-volume, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/usr/local/sbin/gitlab-ha-backup (mode 0755, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /usr/local/sbin/gitlab-ha-backup on gitlab
# host: gitlab
FILE_PATH=/usr/local/sbin/gitlab-ha-backup
FILE_MODE=0755
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

# [18] backup-gitlab-config-backup-script-write
#     after: gitlab-gitlab-config, gitlab-gitlab-container, gitlab-gitlab-engine, gitlab-gitlab-reconfigure, gitlab-gitlab-start, gitlab-gitlab-unit-write, gitlab-gitlab-volume, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/usr/local/sbin/gitlab-ha-config-backup (mode 0755, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /usr/local/sbin/gitlab-ha-config-backup on gitlab
# host: gitlab
FILE_PATH=/usr/local/sbin/gitlab-ha-config-backup
FILE_MODE=0755
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

# [19] backup-gitlab-backup-service-write
#     after: gitlab-gitlab-config, gitlab-gitlab-container, gitlab-gitlab-engine, gitlab-gitlab-reconfigure, gitlab-gitlab-start, gitlab-gitlab-unit-write, gitlab-gitlab-volume, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/etc/systemd/system/gitlab-backup.service (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/gitlab-backup.service on gitlab
# host: gitlab
FILE_PATH=/etc/systemd/system/gitlab-backup.service
FILE_MODE=0644
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

# [20] backup-gitlab-backup-timer-write
#     after: gitlab-gitlab-config, gitlab-gitlab-container, gitlab-gitlab-engine, gitlab-gitlab-reconfigure, gitlab-gitlab-start, gitlab-gitlab-unit-write, gitlab-gitlab-volume, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/etc/systemd/system/gitlab-backup.timer (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/gitlab-backup.timer on gitlab
# host: gitlab
FILE_PATH=/etc/systemd/system/gitlab-backup.timer
FILE_MODE=0644
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

# [21] backup-gitlab-config-service-write
#     after: gitlab-gitlab-config, gitlab-gitlab-container, gitlab-gitlab-engine, gitlab-gitlab-reconfigure, gitlab-gitlab-start, gitlab-gitlab-unit-write, gitlab-gitlab-volume, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/etc/systemd/system/gitlab-config-backup.service (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/gitlab-config-backup.service on gitlab
# host: gitlab
FILE_PATH=/etc/systemd/system/gitlab-config-backup.service
FILE_MODE=0644
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

# [22] backup-gitlab-config-timer-write
#     after: gitlab-gitlab-config, gitlab-gitlab-container, gitlab-gitlab-engine, gitlab-gitlab-reconfigure, gitlab-gitlab-start, gitlab-gitlab-unit-write, gitlab-gitlab-volume, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/etc/systemd/system/gitlab-config-backup.timer (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/gitlab-config-backup.timer on gitlab
# host: gitlab
FILE_PATH=/etc/systemd/system/gitlab-config-backup.timer
FILE_MODE=0644
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

# [23] backup-gitlab-timers
#     after: backup-gitlab-backup-script-write, backup-gitlab-backup-service-write, backup-gitlab-backup-timer-write, backup-gitlab-config-backup-script-write, backup-gitlab-config-service-write, backup-gitlab-config-timer-write, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: none
#     re-run when changed: ["a76c0071079a2a29dd0e59e6d2006d9fb55570e7619775f5fdfa5103f2b57d37","65b511a3d72ef684460df6cf5876bb92c295a2e61755910c8a6434e2ceed1620","2bf9c546702e009d05da68cee3854b474a79e8bd41bfb025be9b5dbf1121f66f","a72b971271b59eb38e899a78c241ace4360e9466d6cc037358ea84f5a58a5804","87e9975c03dc9146c809dabcba56721cc6723222c5d131d8091a23f63f572042","f53d56a545c4a08e65864ef356dd38994019203925577465ba98452525ede845"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: enable gitlab-backup.timer, gitlab-config-backup.timer
# host: gitlab
TIMERS=(gitlab-backup.timer gitlab-config-backup.timer)
OS_FAMILY=apt
PACKAGES=()
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
GITLAB_HA_SCRIPT
)"

# [24] postgres-switchover-gitlab-start-gitlab
#     after: gitlab-gitlab-config, gitlab-gitlab-container, gitlab-gitlab-engine, gitlab-gitlab-reconfigure, gitlab-gitlab-start, gitlab-gitlab-unit-write, gitlab-gitlab-volume, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write, postgres-switchover
#     stdin: given
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: start GitLab on gitlab if a database switchover is due (the plan comes on stdin)
# host: gitlab
ACTION=start
MODE=unit
GITLAB_UNIT=gitlab-container.service
CONTAINER=gitlab-ha-lab-gitlab-gitlab
HOST_NAME=gitlab
STATE_DIR=/run
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# GitLab's writes during a switchover. ACTION=stop (only when a switchover is due, $PENDING
# names it): stops GitLab on this node, through the failover engine's unit on DRBD nodes (so the
# engine does not see a failure to act on) or the container elsewhere, and leaves a marker.
# ACTION=start: starts what the marker says was stopped, once the database is the new primary.
# stdin: the switchover plan ("old -> new"), empty when none is due.
IFS= read -r PENDING || true
marker="$STATE_DIR/gitlab-ha-switchover-stopped-gitlab"
case "$ACTION" in
  stop)
    [ -n "$PENDING" ] || exit 0
    if [ "$MODE" = unit ]; then
      systemctl is-active --quiet "$GITLAB_UNIT" || exit 0
      touch "$marker"
      systemctl stop "$GITLAB_UNIT"
    else
      [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null || true)" = true ] || exit 0
      touch "$marker"
      docker stop --time 60 "$CONTAINER" >/dev/null
    fi
    changed "stopped GitLab on $HOST_NAME for the database switchover ($PENDING)"
    ;;
  start)
    [ -f "$marker" ] || exit 0
    # A re-pointed container may have been replaced, and so started, already.
    if [ "$MODE" = unit ] && ! systemctl is-active --quiet "$GITLAB_UNIT"; then
      systemctl start "$GITLAB_UNIT"
      changed "started GitLab on $HOST_NAME again after the database switchover"
    elif [ "$MODE" != unit ] && [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null || true)" != true ]; then
      docker start "$CONTAINER" >/dev/null
      changed "started GitLab on $HOST_NAME again after the database switchover"
    fi
    rm -f "$marker"
    ;;
  *) die "unknown ACTION '$ACTION'" ;;
esac
GITLAB_HA_SCRIPT
)"

# [25] failover-gitlab-contract-write
#     after: drbd-gitlab-links, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/opt/git_sentinel/gitlab-ha-failover-contract.txt (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /opt/git_sentinel/gitlab-ha-failover-contract.txt on gitlab
# host: gitlab
FILE_PATH=/opt/git_sentinel/gitlab-ha-failover-contract.txt
FILE_MODE=0644
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

# [26] failover-gitlab-gitlab-guard-write
#     after: drbd-gitlab-links, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/etc/systemd/system/gitlab-container.service.d/50-gitlab-ha-volume.conf (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/gitlab-container.service.d/50-gitlab-ha-volume.conf on gitlab
# host: gitlab
FILE_PATH=/etc/systemd/system/gitlab-container.service.d/50-gitlab-ha-volume.conf
FILE_MODE=0644
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

# [27] failover-gitlab-unit-write
#     after: drbd-gitlab-links, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/etc/systemd/system/git_sentinel.service (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/git_sentinel.service on gitlab
# host: gitlab
FILE_PATH=/etc/systemd/system/git_sentinel.service
FILE_MODE=0644
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

# [28] failover-gitlab-gitlab-after-write
#     after: drbd-gitlab-links, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: files/etc/systemd/system/gitlab-container.service.d/50-gitlab-ha-after-sentinel.conf (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/gitlab-container.service.d/50-gitlab-ha-after-sentinel.conf on gitlab
# host: gitlab
FILE_PATH=/etc/systemd/system/gitlab-container.service.d/50-gitlab-ha-after-sentinel.conf
FILE_MODE=0644
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

# [29] failover-gitlab-enable
#     after: failover-gitlab-gitlab-after-write, failover-gitlab-gitlab-guard-write, failover-gitlab-unit-write, gitlab-gitlab-config, gitlab-gitlab-container, gitlab-gitlab-engine, gitlab-gitlab-reconfigure, gitlab-gitlab-start, gitlab-gitlab-unit-write, gitlab-gitlab-volume, lab-gitlab, lab-stand-ins-gitlab-disk, lab-stand-ins-gitlab-sentinel-write
#     stdin: none
#     re-run when changed: ["b7271dda9db4b49333ebbc877e7b1cb787c7615a997f01d1efc261a12e8e59d9","cc3768319bc3e02ea3aa5826d762b3075d4159a4bdb04b42a8e7e9585fa1e907","89f71c54aebf1262885a73a7798759ab2ccbf8cb6c5ed40d16e48b54fa6e04c1"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: enable git_sentinel.service; gitlab-container.service off at boot
# host: gitlab
SENTINEL_UNIT=git_sentinel.service
SENTINEL_EXEC=/opt/git_sentinel/git_sentinel
GITLAB_UNIT=gitlab-container.service
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

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
# Keeps the failover sentinel enabled and running, and GitLab out of the boot sequence: only the
# sentinel starts GitLab (runbook section 5: gitlab-runsvdir disabled, After=git_sentinel.service).
# GitLab is never stopped here: on the active node it is the sentinel's to run. The unit files
# (the sentinel's unit, GitLab's drop-ins) are written by an earlier step; the sentinel's binary is
# the operators' own and must already be in place.
unit_missing() { [ "$(systemctl show -p LoadState --value "$1")" = not-found ]; }

reload_units_if_changed "$SENTINEL_UNIT" "$GITLAB_UNIT"

unit_missing "$SENTINEL_UNIT" && die "$SENTINEL_UNIT is not installed: the unit file step did not run"
# Checked before enabling or starting: without the binary the unit would only loop on restarts
# (Restart=always) and fail on every boot.
if [ ! -f "$SENTINEL_EXEC" ] || [ ! -x "$SENTINEL_EXEC" ]; then
  die "the sentinel binary $SENTINEL_EXEC is missing or not executable on $(uname -n): install the operators' git_sentinel there (failover.sentinel.execStart) before $SENTINEL_UNIT can be enabled and started"
fi
state=$(systemctl is-enabled "$SENTINEL_UNIT" 2>/dev/null || true)
case "$state" in
  enabled) ;;
  masked | masked-runtime) die "$SENTINEL_UNIT is masked; unmask it deliberately (systemctl unmask $SENTINEL_UNIT)" ;;
  *)
    systemctl enable --quiet "$SENTINEL_UNIT"
    changed "enabled $SENTINEL_UNIT"
    ;;
esac
if ! systemctl is-active --quiet "$SENTINEL_UNIT"; then
  systemctl start "$SENTINEL_UNIT"
  changed "started $SENTINEL_UNIT"
fi

# GitLab may be installed later: then there is nothing to disable yet.
if ! unit_missing "$GITLAB_UNIT"; then
  case "$(systemctl is-enabled "$GITLAB_UNIT" 2>/dev/null || true)" in
    enabled)
      systemctl disable --quiet "$GITLAB_UNIT"
      changed "disabled $GITLAB_UNIT at boot (the sentinel starts it)"
      ;;
    enabled-runtime)
      systemctl disable --quiet --runtime "$GITLAB_UNIT"
      changed "disabled $GITLAB_UNIT at boot (runtime enablement; the sentinel starts it)"
      ;;
  esac
fi
GITLAB_HA_SCRIPT
)"
