# Commands of hosts/pgsq2, in order (gitlab-ha offline render).

# [1] firewall-pgsq2-install
#     after: lab-pgsq2
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install the OS's iptables persistence, mask firewalld
# host: pgsq2
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

# [2] firewall-pgsq2-rules-write
#     after: firewall-pgsq2-install, lab-pgsq2
#     stdin: files/etc/gitlab-ha/iptables.rules (mode 0600, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-ha/iptables.rules on pgsq2
# host: pgsq2
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

# [3] firewall-pgsq2-rules6-write
#     after: firewall-pgsq2-install, lab-pgsq2
#     stdin: files/etc/gitlab-ha/ip6tables.rules (mode 0600, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-ha/ip6tables.rules on pgsq2
# host: pgsq2
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

# [4] firewall-pgsq2-apply
#     after: firewall-pgsq2-rules-write, firewall-pgsq2-rules6-write, lab-pgsq2
#     stdin: none
#     re-run when changed: ["9a3a50d8cc6e6693d40a4662bf870d964c1436544036b063691b403e9bd1ecdd","69d991f9ec579b5918f6acfa7a96d7c1cb6511d791b4b51ff3aea9169c2db582"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: apply chains GITLAB-HA-INPUT and GITLAB-HA-DOCKER (IPv4 and IPv6) and persist them
# host: pgsq2
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

# [5] postgres-switchover-stop-pgsq2
#     after: lab-pgsq2, postgres-switchover, postgres-switchover-gitlab-stop-gitlab, postgres-switchover-gitlab-stop-gitlab2
#     stdin: given
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: switchover: stop the old primary pgsq2 cleanly if it is the one being replaced (its name comes on stdin)
# host: pgsq2
PG_PORT=5432
BINDIR=/usr/lib/postgresql/15/bin
DATA_DIR=/var/lib/postgresql/15/main
SERVICE=postgresql@15-main
HOST_NAME=pgsq2
NEW_PRIMARY=pgsql
DB_PEERS=(pgsql=172.31.88.11:5432 pgsq2=172.31.88.12:5432)
REBUILD_TOKEN=''
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Shared by the switchover steps: this host's PostgreSQL server as it is, read from the server
# when it runs and from pg_control when it does not.
# The program's own writes (grants, slots) never wait for a synchronous standby that may not be
# there: synchronous_commit = local (postgres src/include/replication/syncrep.h, SyncRepRequested).
sw_psql() { runuser -u postgres -- env PGOPTIONS="-c synchronous_commit=local" "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -c "$1"; }
sw_has_cluster() { [ -f "$DATA_DIR/PG_VERSION" ]; }
# pg_ctl status: 0 when a postmaster runs on the directory (postmaster.pid and a live process).
sw_running() { runuser -u postgres -- "$BINDIR/pg_ctl" status -D "$DATA_DIR" >/dev/null 2>&1; }
sw_in_recovery() { [ "$(sw_psql 'SELECT pg_is_in_recovery()')" = t ]; }
sw_control() { LC_ALL=C runuser -u postgres -- "$BINDIR/pg_controldata" "$DATA_DIR" | sed -n "s/^$1: *//p"; }
# postgres.rebuildStandbys names this host with a token the base backup step has not applied yet:
# that step empties and rebuilds it (basebackup.sh), so the switchover steps leave it alone.
sw_rebuild_pending() {
  [ -n "$REBUILD_TOKEN" ] || return 1
  [ "$REBUILD_TOKEN" != "$(cat "$(dirname "$DATA_DIR")/.$(basename "$DATA_DIR").gitlab-ha-rebuild-token" 2>/dev/null || true)" ]
}
# Written on the new primary by the check step when it starts a switchover (the next steps stop
# production), removed by the promotion step: an interrupted switchover is known, not inferred.
sw_marker() { printf '%s/.%s.gitlab-ha-switchover\n' "$(dirname "$DATA_DIR")" "$(basename "$DATA_DIR")"; }
# Database host names by "address:port", to name the server a standby streams from.
sw_peer_name() {
  local p
  for p in "${DB_PEERS[@]}"; do
    if [ "${p#*=}" = "$1" ]; then printf '%s\n' "${p%%=*}"; return 0; fi
  done
  printf '%s\n' "$1"
}
# Runs on each host the config names postgres-standby, after GitLab's writes stopped. On the old
# primary of a planned switchover ($FROM), stops PostgreSQL cleanly and prints its shutdown
# checkpoint ("gitlab-ha: checkpoint: <lsn>") for the promotion step to wait for. Elsewhere it
# only refuses a second primary. stdin: the old primary's name from the check step, or nothing;
# then "resuming" when the check resumes an interrupted switchover.
IFS= read -r FROM || true
IFS= read -r RESUMING || true
[[ "$FROM" =~ ^[a-z0-9-]*$ ]] || die "stdin: unexpected old primary name"
sw_has_cluster || exit 0
if sw_rebuild_pending; then exit 0; fi
if sw_running; then
  if sw_in_recovery; then
    [ "$FROM" != "$HOST_NAME" ] || die "$NEW_PRIMARY streams from $HOST_NAME, which is itself a standby (a standby of a standby): switch over from the primary, with $NEW_PRIMARY streaming from it"
    exit 0 # a standby, as configured
  fi
  if [ "$FROM" != "$HOST_NAME" ]; then
    die "$HOST_NAME runs as a primary, but the config makes it a standby of $NEW_PRIMARY, which does not stream from it (two primaries): refusing to empty it; set postgres.rebuildStandbys.$HOST_NAME to a new token to rebuild it from $NEW_PRIMARY (its own writes are lost), put postgres-primary back on it, or fence it and use npm run db:failover"
  fi
  # Resuming means the new primary no longer streams: it could not receive the shutdown checkpoint,
  # so stopping this primary now would only stop production.
  [ "$RESUMING" != resuming ] ||
    die "the switchover to $NEW_PRIMARY stopped half-way and $NEW_PRIMARY does not stream from $HOST_NAME now: refusing to stop $HOST_NAME, which still runs as the primary. Get $NEW_PRIMARY streaming again and converge, or put the roles back in the config and remove the marker on $NEW_PRIMARY (see its check step's message)"
  # A fast shutdown (postgresql-common's postgresql@.service: ExecStop=pg_ctlcluster -m fast;
  # PGDG's unit: KillSignal=SIGINT) writes a shutdown checkpoint, and the walsenders send all
  # WAL up to it and wait until the standby has it before they exit (postgres
  # src/backend/replication/walsender.c, header comment).
  systemctl stop "$SERVICE"
  changed "stopped the old primary $HOST_NAME cleanly (fast shutdown) for $NEW_PRIMARY to take over"
fi
[ "$FROM" = "$HOST_NAME" ] || exit 0
[ -f "$DATA_DIR/standby.signal" ] && exit 0
state=$(sw_control "Database cluster state")
[ "$state" = "shut down" ] ||
  die "$HOST_NAME is stopped but was not shut down cleanly (pg_control says '$state'): its last writes may be missing on $NEW_PRIMARY. Start it so the switchover can stop it cleanly, or promote $NEW_PRIMARY with npm run db:failover"
echo "gitlab-ha: checkpoint: $(sw_control "Latest checkpoint location")"
GITLAB_HA_SCRIPT
)"

# [6] postgres-rejoin-pgsq2
#     after: lab-pgsq2, postgres-pgsql-objects, postgres-replication-password, postgres-rewind-role
#     stdin: [secret]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: rejoin pgsq2 as a standby of pgsql if it was a primary (pg_rewind when needed)
# host: pgsq2
PG_PORT=5432
BINDIR=/usr/lib/postgresql/15/bin
DATA_DIR=/var/lib/postgresql/15/main
CONF_DIR=/etc/postgresql/15/main
SERVICE=postgresql@15-main
HOST_NAME=pgsq2
NEW_PRIMARY=pgsql
PRIMARY_HOST=172.31.88.11
PRIMARY_PORT=5432
REPLICATION_USER=backup
SLOT=gitlab_ha_pgsq2
SLOT_PREFIX=gitlab_ha_
REBUILD_TOKEN=''
WAIT_SECONDS=60
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Shared by the steps that start or restart this host's PostgreSQL server (service, switchover).
pg_wait_ready() {
  for _ in $(seq 1 120); do
    if runuser -u postgres -- "$BINDIR/pg_isready" -q -p "$PG_PORT"; then return 0; fi
    sleep 0.5
  done
  die "$SERVICE did not accept connections within 60 s; see journalctl -u $SERVICE and the server log"
}
# Shared by the switchover steps: this host's PostgreSQL server as it is, read from the server
# when it runs and from pg_control when it does not.
# The program's own writes (grants, slots) never wait for a synchronous standby that may not be
# there: synchronous_commit = local (postgres src/include/replication/syncrep.h, SyncRepRequested).
sw_psql() { runuser -u postgres -- env PGOPTIONS="-c synchronous_commit=local" "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -c "$1"; }
sw_has_cluster() { [ -f "$DATA_DIR/PG_VERSION" ]; }
# pg_ctl status: 0 when a postmaster runs on the directory (postmaster.pid and a live process).
sw_running() { runuser -u postgres -- "$BINDIR/pg_ctl" status -D "$DATA_DIR" >/dev/null 2>&1; }
sw_in_recovery() { [ "$(sw_psql 'SELECT pg_is_in_recovery()')" = t ]; }
sw_control() { LC_ALL=C runuser -u postgres -- "$BINDIR/pg_controldata" "$DATA_DIR" | sed -n "s/^$1: *//p"; }
# postgres.rebuildStandbys names this host with a token the base backup step has not applied yet:
# that step empties and rebuilds it (basebackup.sh), so the switchover steps leave it alone.
sw_rebuild_pending() {
  [ -n "$REBUILD_TOKEN" ] || return 1
  [ "$REBUILD_TOKEN" != "$(cat "$(dirname "$DATA_DIR")/.$(basename "$DATA_DIR").gitlab-ha-rebuild-token" 2>/dev/null || true)" ]
}
# Written on the new primary by the check step when it starts a switchover (the next steps stop
# production), removed by the promotion step: an interrupted switchover is known, not inferred.
sw_marker() { printf '%s/.%s.gitlab-ha-switchover\n' "$(dirname "$DATA_DIR")" "$(basename "$DATA_DIR")"; }
# Database host names by "address:port", to name the server a standby streams from.
sw_peer_name() {
  local p
  for p in "${DB_PEERS[@]}"; do
    if [ "${p#*=}" = "$1" ]; then printf '%s\n' "${p%%=*}"; return 0; fi
  done
  printf '%s\n' "$1"
}
# Runs on each host the config names postgres-standby, once the primary is ready (its slot for
# this host exists). A former primary, stopped, is turned into a standby of $PRIMARY_HOST:
# pg_rewind first (it answers "no rewind required" when the old timeline is a prefix of the new
# one, as after a clean switchover), then standby.signal, primary_conninfo and primary_slot_name.
# Program slots left from its time as a primary are dropped so they cannot pin WAL here.
# stdin: the replication role's password (pg_rewind reads the source through a normal connection).
IFS= read -r password || die "stdin: missing the replication role's password"
sw_has_cluster || exit 0
if sw_rebuild_pending; then exit 0; fi # the base backup step rebuilds it
drop_stale_slots() {
  local slot
  for slot in $(sw_psql "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'physical' AND NOT active AND slot_name LIKE '${SLOT_PREFIX}%'"); do
    sw_psql "SELECT pg_drop_replication_slot('$slot')" >/dev/null
    changed "dropped replication slot $slot on $HOST_NAME (left from its time as primary)"
  done
}
conninfo_line() { printf "host=%s port=%s user=%s" "$PRIMARY_HOST" "$PRIMARY_PORT" "$REPLICATION_USER"; }
if sw_running; then
  sw_in_recovery ||
    die "$HOST_NAME runs as a primary while the config makes $NEW_PRIMARY the primary (two primaries): fence it (systemctl stop $SERVICE) and converge again to rejoin it with pg_rewind, or set postgres.rebuildStandbys.$HOST_NAME to a new token to rebuild it"
  # Another standby of the old primary (two or more standbys): it follows the new one. Since
  # PostgreSQL 13 primary_conninfo and primary_slot_name take effect on reload, the WAL receiver
  # restarting with them (docs runtime-config-replication; postgres src/backend/access/transam/
  # xlogrecovery.c, StartupRequestWalReceiverRestart), and recovery_target_timeline 'latest' (the
  # default) follows the new primary's timeline.
  conninfo=$(sw_psql "SHOW primary_conninfo")
  host=$(sed -n "s/.*host='\{0,1\}\([^' ]*\).*/\1/p" <<<"$conninfo")
  port=$(sed -n "s/.*port='\{0,1\}\([0-9]*\).*/\1/p" <<<"$conninfo")
  if [ "$host:${port:-5432}" != "$PRIMARY_HOST:$PRIMARY_PORT" ] || [ "$(sw_psql "SHOW primary_slot_name")" != "$SLOT" ]; then
    sw_psql "ALTER SYSTEM SET primary_conninfo = '$(conninfo_line)'" >/dev/null
    sw_psql "ALTER SYSTEM SET primary_slot_name = '$SLOT'" >/dev/null
    sw_psql "SELECT pg_reload_conf()" >/dev/null
    changed "re-pointed the standby $HOST_NAME from ${host:-?}:${port:-?} to $NEW_PRIMARY on slot $SLOT"
  fi
  drop_stale_slots
  exit 0
fi
[ -f "$DATA_DIR/standby.signal" ] && exit 0 # a stopped standby: the service step starts it

# pg_rewind refuses a target without data checksums or wal_log_hints (docs: app-pgrewind).
checksums=$(sw_control "Data page checksum version")
hints=$(sw_control "wal_log_hints setting")
if [ "$checksums" = 0 ] && [ "$hints" != on ]; then
  die "$HOST_NAME cannot be rewound: it has neither data checksums nor wal_log_hints = on; set postgres.rebuildStandbys.$HOST_NAME to a new token to rebuild it from $NEW_PRIMARY with a base backup"
fi
passfile=$(mktemp)
trap 'rm -f "$passfile"' EXIT
chown postgres "$passfile"
chmod 0600 "$passfile"
esc() { local v=${1//\\/\\\\}; printf '%s' "${v//:/\\:}"; } # .pgpass escaping of '\' and ':'
printf '%s:%s:postgres:%s:%s\n' "$(esc "$PRIMARY_HOST")" "$PRIMARY_PORT" "$(esc "$REPLICATION_USER")" "$(esc "$password")" >"$passfile"
conf_opt=()
if [ ! -f "$DATA_DIR/postgresql.conf" ]; then conf_opt=(--config-file="$CONF_DIR/postgresql.conf"); fi
# pg_rewind needs a normal connection to the running source with EXECUTE on pg_ls_dir,
# pg_stat_file and pg_read_binary_file (docs: app-pgrewind, Notes), granted by the rewind-role step.
if ! out=$(runuser -u postgres -- "$BINDIR/pg_rewind" --target-pgdata="$DATA_DIR" "${conf_opt[@]}" \
  --source-server="host=$PRIMARY_HOST port=$PRIMARY_PORT user=$REPLICATION_USER dbname=postgres passfile=$passfile" 2>&1); then
  die "pg_rewind of $HOST_NAME from $NEW_PRIMARY failed: $(tail -n 3 <<<"$out" | tr '\n' ' ')- set postgres.rebuildStandbys.$HOST_NAME to a new token to rebuild it with a base backup"
fi
if grep -q "no rewind required" <<<"$out"; then how="no rewind needed"; else how="rewound with pg_rewind"; fi

auto="$DATA_DIR/postgresql.auto.conf"
sed -i -E '/^[[:space:]]*(primary_conninfo|primary_slot_name)[[:space:]]*=/d' "$auto"
# The password comes from ~postgres/.pgpass, as for a standby built by pg_basebackup -R.
printf "primary_conninfo = '%s'\nprimary_slot_name = '%s'\n" "$(conninfo_line)" "$SLOT" >>"$auto"
runuser -u postgres -- touch "$DATA_DIR/standby.signal"

behind="it is behind the new primary's WAL: $NEW_PRIMARY no longer has the WAL it needs to follow; rebuild it with a base backup: set postgres.rebuildStandbys.$HOST_NAME to a new token"
# Whether $NEW_PRIMARY still has the WAL from LSN $1 on: the oldest segment in its pg_wal (pg_ls_dir,
# granted by the rewind-role step) against the segment of $1, and this host's slot there.
source_q() { runuser -u postgres -- "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -d "host=$PRIMARY_HOST port=$PRIMARY_PORT user=$REPLICATION_USER dbname=postgres passfile=$passfile" -c "$1"; }
lacks_wal_from() {
  local seg_size oldest slot_status hi lo
  seg_size=$(source_q "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'")
  oldest=$(source_q "SELECT coalesce(min(substr(f, 9)), '') FROM pg_ls_dir('pg_wal', false, false) f WHERE f ~ '^[0-9A-F]{24}\$'")
  slot_status=$(source_q "SELECT coalesce((SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$SLOT'), 'missing')")
  IFS=/ read -r hi lo <<<"$1"
  [ "$slot_status" != lost ] || return 0
  [ -n "$oldest" ] && [ $(((16#$hi * 4294967296 + 16#$lo) / seg_size)) -lt $((16#${oldest:0:8} * (4294967296 / seg_size) + 16#${oldest:8:8})) ]
}
# --no-block: PGDG's EL unit (Type=notify, no start timeout) would wait for ever for a standby
# that never becomes consistent because the WAL it needs is gone; the wait is bounded here instead.
systemctl start --no-block "$SERVICE"
ready=""
for _ in $(seq 1 $((WAIT_SECONDS * 2))); do
  if runuser -u postgres -- "$BINDIR/pg_isready" -q -p "$PG_PORT"; then ready=yes; break; fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  systemctl stop "$SERVICE" || true # cancels the start job, so nothing keeps trying
  # Recovery starts at the checkpoint's redo location (pg_rewind writes the last common one).
  redo=$(sw_control "Latest checkpoint's REDO location")
  if lacks_wal_from "$redo"; then die "$HOST_NAME did not become ready within $WAIT_SECONDS s after the rejoin (stopped again): its recovery starts at $redo and $behind"; fi
  die "$HOST_NAME did not accept connections within $WAIT_SECONDS s after the rejoin (stopped again); see its server log"
fi
# Not streaming yet is normal (~postgres/.pgpass may name the old primary until the standby's own
# steps run); WAL the new primary has already removed is not.
replayed=$(sw_psql "SELECT pg_last_wal_replay_lsn()")
if lacks_wal_from "$replayed"; then die "$HOST_NAME rejoined $NEW_PRIMARY but cannot stream from $replayed: $behind"; fi
changed "rejoined $HOST_NAME as a standby of $NEW_PRIMARY on slot $SLOT ($how)"
drop_stale_slots
GITLAB_HA_SCRIPT
)"

# [7] postgres-pgsq2-install
#     after: lab-pgsq2
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install PostgreSQL 15 on pgsq2
# host: pgsq2
OS_FAMILY=apt
OS_RELEASE=bookworm
PG_VERSION=15
PACKAGE_SOURCE=distribution
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
# Installs the PostgreSQL $PG_VERSION server with contrib (pg_trgm, btree_gist) from $PACKAGE_SOURCE.
require_family
case "$OS_FAMILY" in
  apt)
    # Debian creates a default cluster on install; the program creates its own, where config says.
    cc=/etc/postgresql-common/createcluster.conf
    if ! grep -qx 'create_main_cluster = false' "$cc" 2>/dev/null; then
      mkdir -p "$(dirname "$cc")"
      if [ -f "$cc" ]; then sed -i '/^[[:space:]]*create_main_cluster[[:space:]]*=/d' "$cc"; fi
      echo 'create_main_cluster = false' >>"$cc"
      changed "$cc: create_main_cluster = false"
    fi
    if ! dpkg-query -W -f='${Status}' "postgresql-$PG_VERSION" 2>/dev/null | grep -q 'install ok installed'; then
      export DEBIAN_FRONTEND=noninteractive
      if [ "$PACKAGE_SOURCE" = pgdg ] && [ ! -f /etc/apt/sources.list.d/pgdg.list ] && [ ! -f /etc/apt/sources.list.d/pgdg.sources ]; then
        apt-get update -q >/dev/null
        apt-get install -y -q postgresql-common >/dev/null
        /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y >/dev/null
        changed "added the PGDG apt repository"
      fi
      apt-get update -q >/dev/null
      apt-get install -y -q "postgresql-$PG_VERSION" "postgresql-client-$PG_VERSION" >/dev/null
      changed "installed postgresql-$PG_VERSION"
    fi
    ;;
  dnf)
    if ! rpm -q "postgresql$PG_VERSION-server" "postgresql$PG_VERSION-contrib" >/dev/null 2>&1; then
      if ! rpm -q pgdg-redhat-repo >/dev/null 2>&1; then
        dnf install -y -q "https://download.postgresql.org/pub/repos/yum/reporpms/EL-$OS_RELEASE-$(uname -m)/pgdg-redhat-repo-latest.noarch.rpm" >/dev/null
        changed "added the PGDG dnf repository"
      fi
      # EL 8/9 ship a postgresql module whose packages would shadow PGDG's.
      if dnf -q module list postgresql >/dev/null 2>&1; then dnf -q -y module disable postgresql >/dev/null; fi
      dnf install -y -q "postgresql$PG_VERSION-server" "postgresql$PG_VERSION-contrib" >/dev/null
      changed "installed postgresql$PG_VERSION-server"
    fi
    ;;
esac
GITLAB_HA_SCRIPT
)"

# [8] postgres-pgsq2-pgpass-write
#     after: lab-pgsq2, postgres-pgsq2-install, postgres-replication-password
#     stdin: files/var/lib/postgresql/.pgpass (mode 0600, postgres:postgres)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /var/lib/postgresql/.pgpass on pgsq2
# host: pgsq2
FILE_PATH=/var/lib/postgresql/.pgpass
FILE_MODE=0600
FILE_OWNER=postgres
FILE_GROUP=postgres
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
# on delete:
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: remove /var/lib/postgresql/.pgpass from pgsq2
# host: pgsq2
FILE_PATH=/var/lib/postgresql/.pgpass
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
# Removes $FILE_PATH (the resource that owned it is gone).
if [ -e "$FILE_PATH" ]; then
  rm -f "$FILE_PATH"
  changed "$FILE_PATH removed"
fi
GITLAB_HA_SCRIPT
)"

# [9] postgres-pgsq2-basebackup
#     after: lab-pgsq2, postgres-pgsq2-pgpass-write, postgres-pgsql-objects, postgres-rejoin-pgsq2
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: build the standby pgsq2 from 172.31.88.11 unless it is one already
# host: pgsq2
OS_FAMILY=apt
PG_VERSION=15
PG_PORT=5432
BINDIR=/usr/lib/postgresql/15/bin
DATA_DIR=/var/lib/postgresql/15/main
CONF_DIR=/etc/postgresql/15/main
SERVICE=postgresql@15-main
MANAGED_CONF=/etc/postgresql/15/main/conf.d/50-gitlab-ha.conf
HOST_NAME=pgsq2
PRIMARY_HOST=172.31.88.11
PRIMARY_PORT=5432
REPLICATION_USER=backup
SLOT=gitlab_ha_pgsq2
CHECKPOINT=fast
MAX_RATE=''
REBUILD_TOKEN=''
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Builds this standby from the primary with pg_basebackup -R on its replication slot, but only
#   - when the data directory is missing or empty,
#   - when a previous base backup did not finish (the marker below is still there), or
#   - when postgres.rebuildStandbys names this host with a token not yet applied here.
# A directory holding a working cluster, or anything else, is never emptied otherwise.
parent=$(dirname "$DATA_DIR")
marker="$parent/.$(basename "$DATA_DIR").gitlab-ha-basebackup-incomplete"
token_file="$parent/.$(basename "$DATA_DIR").gitlab-ha-rebuild-token"

applied_token=$(cat "$token_file" 2>/dev/null || true)
reason=""
if [ -f "$marker" ]; then
  reason="a previous base backup did not finish"
elif [ ! -d "$DATA_DIR" ] || [ -z "$(ls -A "$DATA_DIR")" ]; then
  reason="the data directory is empty"
elif [ -f "$DATA_DIR/PG_VERSION" ]; then
  if [ -n "$REBUILD_TOKEN" ] && [ "$REBUILD_TOKEN" != "$applied_token" ]; then
    reason="postgres.rebuildStandbys asks for a rebuild (token $REBUILD_TOKEN)"
  elif [ ! -f "$DATA_DIR/standby.signal" ]; then
    die "$DATA_DIR holds a working cluster that is not a standby (promoted?): refusing to empty it; set postgres.rebuildStandbys.$HOST_NAME to a new token to rebuild it from the primary"
  fi
else
  die "$DATA_DIR is not empty and holds no PostgreSQL cluster: refusing to touch it"
fi

if [ -n "$reason" ]; then
  if systemctl is-active --quiet "$SERVICE"; then systemctl stop "$SERVICE"; fi
  [ -d "$parent" ] || install -d -o postgres -g postgres -m 0755 "$parent"
  touch "$marker"
  if [ -d "$DATA_DIR" ]; then find "$DATA_DIR" -mindepth 1 -delete; fi
  install -d -o postgres -g postgres -m 0700 "$DATA_DIR"
  # A rebuilt standby starts on a fresh slot: the old one may be invalidated (wal_status 'lost'
  # once max_slot_wal_keep_size was exceeded), and no WAL can be streamed from such a slot. The
  # replication protocol's DROP_REPLICATION_SLOT (PostgreSQL docs, protocol-replication) drops it
  # once the old walsender has let go; pg_basebackup --create-slot makes it again.
  repl_conn="host=$PRIMARY_HOST port=$PRIMARY_PORT user=$REPLICATION_USER dbname=replication replication=true"
  for attempt in $(seq 1 90); do
    if out=$(runuser -u postgres -- "$BINDIR/psql" -X -q -w -d "$repl_conn" -c "DROP_REPLICATION_SLOT $SLOT" 2>&1); then
      changed "dropped replication slot $SLOT on $PRIMARY_HOST:$PRIMARY_PORT to build on a fresh one"
      break
    fi
    case "$out" in
      *"does not exist"*) break ;;
      *"is active"*) [ "$attempt" -lt 90 ] || die "replication slot $SLOT on $PRIMARY_HOST:$PRIMARY_PORT is still in use after 90 s: is another copy of $HOST_NAME streaming? $out" ;;
      *) die "could not drop replication slot $SLOT on $PRIMARY_HOST:$PRIMARY_PORT: $out" ;;
    esac
    sleep 1
  done
  rate=()
  if [ -n "$MAX_RATE" ]; then rate=(--max-rate="$MAX_RATE"); fi
  # The password comes from ~postgres/.pgpass, which the walreceiver also uses afterwards.
  runuser -u postgres -- "$BINDIR/pg_basebackup" --pgdata="$DATA_DIR" --format=plain --wal-method=stream \
    --write-recovery-conf --slot="$SLOT" --create-slot --checkpoint="$CHECKPOINT" "${rate[@]}" --no-password \
    --host="$PRIMARY_HOST" --port="$PRIMARY_PORT" --username="$REPLICATION_USER" >/dev/null
  rm -f "$marker"
  if [ -n "$REBUILD_TOKEN" ]; then echo "$REBUILD_TOKEN" >"$token_file"; fi
  changed "built standby from $PRIMARY_HOST:$PRIMARY_PORT on slot $SLOT ($reason)"
fi

# Debian keeps configuration in /etc/postgresql/<version>/main: register the copied data directory
# there once (pg_createcluster adopts an existing data directory that carries config files).
if [ "$OS_FAMILY" = apt ] && [ ! -f "$CONF_DIR/postgresql.conf" ]; then
  for f in postgresql pg_hba pg_ident; do
    install -o postgres -g postgres -m 0600 "/usr/share/postgresql/$PG_VERSION/$f.conf.sample" "$DATA_DIR/$f.conf"
  done
  pg_createcluster "$PG_VERSION" main -d "$DATA_DIR" -p "$PG_PORT" >/dev/null
  changed "registered $DATA_DIR as cluster $PG_VERSION/main"
fi

# A rebuild stops the server; when the program's configuration is already in place (a rebuild,
# or EL layouts where the copy brings the primary's identical files) the server starts again
# here, since the service step re-runs only when a configuration file changes.
if [ -n "$reason" ] && [ -f "$MANAGED_CONF" ]; then
  systemctl start "$SERVICE"
  changed "started $SERVICE on the new base backup"
fi
GITLAB_HA_SCRIPT
)"

# [10] postgres-pgsq2-conf-write
#     after: lab-pgsq2, postgres-pgsq2-basebackup
#     stdin: files/etc/postgresql/15/main/conf.d/50-gitlab-ha.conf (mode 0640, postgres:postgres)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/postgresql/15/main/conf.d/50-gitlab-ha.conf on pgsq2
# host: pgsq2
FILE_PATH=/etc/postgresql/15/main/conf.d/50-gitlab-ha.conf
FILE_MODE=0640
FILE_OWNER=postgres
FILE_GROUP=postgres
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

# [11] postgres-pgsq2-hba-write
#     after: lab-pgsq2, postgres-pgsq2-basebackup
#     stdin: files/etc/postgresql/15/main/pg_hba.conf (mode 0640, postgres:postgres)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/postgresql/15/main/pg_hba.conf on pgsq2
# host: pgsq2
FILE_PATH=/etc/postgresql/15/main/pg_hba.conf
FILE_MODE=0640
FILE_OWNER=postgres
FILE_GROUP=postgres
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

# [12] postgres-pgsq2-service
#     after: lab-pgsq2, postgres-pgsq2-conf-write, postgres-pgsq2-hba-write
#     stdin: none
#     re-run when changed: ["78bba52050ccc471d908014aa90d04ab66e9d54a454866fd20d8e89eab8bf6f4","aec0844a24a982b45139bbaec493abd24166827df71386afbb47097234e6ff46"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: run postgresql@15-main on pgsq2 with its current configuration
# host: pgsq2
PG_PORT=5432
BINDIR=/usr/lib/postgresql/15/bin
DATA_DIR=/var/lib/postgresql/15/main
CONF_DIR=/etc/postgresql/15/main
SERVICE=postgresql@15-main
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Shared by the steps that start or restart this host's PostgreSQL server (service, switchover).
pg_wait_ready() {
  for _ in $(seq 1 120); do
    if runuser -u postgres -- "$BINDIR/pg_isready" -q -p "$PG_PORT"; then return 0; fi
    sleep 0.5
  done
  die "$SERVICE did not accept connections within 60 s; see journalctl -u $SERVICE and the server log"
}
# Keeps the server enabled and running with its current configuration: starts it when stopped,
# reloads only when a configuration file is newer than the server's last load, and restarts only
# when a reloaded setting needs it (pg_settings.pending_restart). Nothing changed: nothing happens.
psql_q() { runuser -u postgres -- "$BINDIR/psql" -X -q -At -p "$PG_PORT" -d postgres -c "$1"; }

conf="$CONF_DIR/postgresql.conf"
[ -f "$conf" ] || die "$conf is missing: the cluster step did not run"
if ! grep -Eq "^[[:space:]]*include_dir[[:space:]]*=[[:space:]]*'conf\.d'" "$conf"; then
  printf "\n# Added by gitlab-ha: settings managed by the program live in conf.d/.\ninclude_dir = 'conf.d'\n" >>"$conf"
  changed "$conf: include_dir = 'conf.d'"
fi

if [ "$(systemctl show -p NeedDaemonReload --value "$SERVICE")" = yes ]; then
  systemctl daemon-reload
  changed "systemd reloaded units for $SERVICE"
fi
if ! systemctl is-enabled --quiet "$SERVICE" 2>/dev/null; then
  systemctl enable --quiet "$SERVICE"
  changed "enabled $SERVICE"
fi
# --no-block, then pg_wait_ready's bounded wait: PGDG's EL unit (Type=notify without a start
# timeout) would otherwise wait for ever for a standby that never becomes consistent (WAL it needs
# removed on the primary), and the converge with it.
if ! systemctl is-active --quiet "$SERVICE"; then
  systemctl start --no-block "$SERVICE"
  pg_wait_ready
  changed "started $SERVICE"
  exit 0
fi
pg_wait_ready

loaded=$(psql_q "SELECT extract(epoch FROM pg_conf_load_time())")
newest=$(find "$conf" "$CONF_DIR/pg_hba.conf" "$CONF_DIR/conf.d" "$DATA_DIR/postgresql.auto.conf" -maxdepth 1 -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -n 1)
if awk -v a="$newest" -v b="$loaded" 'BEGIN { exit !(a > b) }'; then
  psql_q "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 1 50); do
    [ "$(psql_q "SELECT extract(epoch FROM pg_conf_load_time())")" != "$loaded" ] && break
    sleep 0.1
  done
  changed "reloaded $SERVICE configuration"
fi
pending=$(psql_q "SELECT string_agg(name, ',' ORDER BY name) FROM pg_settings WHERE pending_restart")
if [ -n "$pending" ]; then
  systemctl restart "$SERVICE"
  pg_wait_ready
  changed "restarted $SERVICE to apply $pending"
fi
bad=$(psql_q "SELECT string_agg(sourcefile || ':' || sourceline || ' ' || coalesce(name, '') || ' ' || error, '; ') FROM pg_file_settings WHERE error IS NOT NULL AND error <> 'setting could not be applied'")
[ -z "$bad" ] || die "PostgreSQL rejected configuration: $bad"
bad=$(psql_q "SELECT string_agg('line ' || line_number || ': ' || error, '; ') FROM pg_hba_file_rules WHERE error IS NOT NULL")
[ -z "$bad" ] || die "PostgreSQL rejected pg_hba.conf: $bad"
GITLAB_HA_SCRIPT
)"

# [13] postgres-pgsq2-streaming
#     after: lab-pgsq2, postgres-pgsq2-service
#     stdin: none
#     re-run when changed: ["fa3409d4996da3e64aec87d8a3e456f5547aece955343268eec5d4857eaf8b11",""]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: wait until pgsq2 streams from 172.31.88.11
# host: pgsq2
PG_PORT=5432
BINDIR=/usr/lib/postgresql/15/bin
HOST_NAME=pgsq2
PRIMARY_HOST=172.31.88.11
PRIMARY_PORT=5432
REPLICATION_USER=backup
SLOT=gitlab_ha_pgsq2
STREAM_TIMEOUT=120
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Proves this standby streams from the primary. The step is done only when pg_stat_wal_receiver
# (PostgreSQL docs, monitoring-stats: one row while a WAL receiver runs, with status, sender_host,
# sender_port and slot_name) shows it streaming from $PRIMARY_HOST:$PRIMARY_PORT on its slot;
# it waits at most $STREAM_TIMEOUT seconds and then says what it saw.
psql_q() { runuser -u postgres -- "$BINDIR/psql" -X -q -At -p "$PG_PORT" -d postgres -c "$1"; }
psql_primary() { runuser -u postgres -- "$BINDIR/psql" -X -q -At -w -d "host=$PRIMARY_HOST port=$PRIMARY_PORT user=$REPLICATION_USER dbname=replication replication=true" -c "$1"; }

want="streaming from $PRIMARY_HOST:$PRIMARY_PORT on slot $SLOT"
query="SELECT CASE WHEN NOT pg_is_in_recovery() THEN 'no recovery (the server was promoted)' ELSE coalesce(
  (SELECT status || ' from ' || coalesce(sender_host, '?') || ':' || coalesce(sender_port::text, '?') || ' on slot ' || coalesce(slot_name, '(none)') FROM pg_stat_wal_receiver),
  'no WAL receiver (pg_stat_wal_receiver is empty)') END"
deadline=$((SECONDS + STREAM_TIMEOUT))
while :; do
  seen=$(psql_q "$query" 2>&1) || seen="no answer from the server: $seen"
  [ "$seen" = "$want" ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "standby $HOST_NAME is not streaming from the primary $PRIMARY_HOST:$PRIMARY_PORT after $STREAM_TIMEOUT s; it shows: $seen. See its server log; if the primary removed WAL it needs (slot $SLOT with wal_status 'lost' in pg_replication_slots), rebuild it: set postgres.rebuildStandbys.$HOST_NAME to a new token"
  fi
  sleep 1
done

# The settings a hot standby needs no lower than its primary's (PostgreSQL docs, hot-standby-admin),
# compared with the primary's own through the replication connection, which answers SHOW.
for name in max_connections max_prepared_transactions max_locks_per_transaction max_wal_senders max_worker_processes; do
  mine=$(psql_q "SHOW $name")
  theirs=$(psql_primary "SHOW $name" 2>&1) || die "could not read $name from the primary $PRIMARY_HOST:$PRIMARY_PORT: $theirs"
  [ "$mine" -ge "$theirs" ] || die "standby $HOST_NAME has $name = $mine, lower than the primary's $theirs: replay stops at the primary's next restart; set it equal on both (postgresql.auto.conf or the managed conf.d file)"
done
GITLAB_HA_SCRIPT
)"
