# Commands of hosts/pgsql, in order (gitlab-ha offline render).

# [1] firewall-pgsql-install
#     after: -
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install the OS's iptables persistence, mask firewalld
# host: pgsql
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

# [2] firewall-pgsql-rules-write
#     after: firewall-pgsql-install
#     stdin: files/etc/gitlab-ha/iptables.rules (mode 0600, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-ha/iptables.rules on pgsql
# host: pgsql
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

# [3] firewall-pgsql-rules6-write
#     after: firewall-pgsql-install
#     stdin: files/etc/gitlab-ha/ip6tables.rules (mode 0600, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-ha/ip6tables.rules on pgsql
# host: pgsql
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

# [4] firewall-pgsql-apply
#     after: firewall-pgsql-rules-write, firewall-pgsql-rules6-write
#     stdin: none
#     re-run when changed: ["06f470accf3944cdce177380708505d30ea25d77853b3e63a1bcd84e72c0b1fe","efb655ea847a600caf540ae297024bbcd9ac314d91a6097e693098b1e3a9932b"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: apply chains GITLAB-HA-INPUT and GITLAB-HA-DOCKER (IPv4 and IPv6) and persist them
# host: pgsql
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

# [5] postgres-switchover
#     after: -
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: switchover check: make pgsql the primary (standbys: pgsq2) if it is still a standby
# host: pgsql
PG_PORT=5432
BINDIR=/usr/pgsql-16/bin
DATA_DIR=/var/lib/pgsql/16/data
SERVICE=postgresql-16
HOST_NAME=pgsql
DB_PEERS=(pgsql=10.228.129.11:5432 pgsq2=10.228.130.61:5432)
REBUILD_TOKEN=''
MAX_LAG_BYTES=16777216
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
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
# Runs on the host the config names postgres-primary, before anything else of the switchover.
# Nothing to do (prints nothing) when it holds no cluster yet or already is a primary. When it is
# still a standby, a planned switchover is due: it must stream from the current primary and have
# replayed all but postgres.switchover.maxLagBytes of its WAL, or nothing is touched. Once those
# hold it writes the switchover marker (the next steps stop GitLab and the old primary); a later
# run that finds the marker and no streaming resumes that switchover, and only then.
# Prints "gitlab-ha: switchover: <old> -> <new>", which the next steps read.
sw_has_cluster || exit 0
marker=$(sw_marker)
if ! sw_running; then
  [ -f "$DATA_DIR/standby.signal" ] || exit 0 # a stopped primary: the service step starts it
  die "$HOST_NAME is configured as postgres-primary but is a stopped standby: start $SERVICE so it catches up first, or promote it with npm run db:failover if the primary is lost"
fi
if ! sw_in_recovery; then
  rm -f "$marker" # a primary already: nothing left to resume
  exit 0
fi
# pg_stat_wal_receiver.latest_end_lsn is the primary's end of WAL as its last message said
# (walreceiver.c ProcessWalSndrMessage: walEnd), so the difference is the lag behind the primary.
row=$(sw_psql "SELECT status, sender_host, sender_port, coalesce(pg_wal_lsn_diff(latest_end_lsn, pg_last_wal_replay_lsn()), 9223372036854775807)::bigint FROM pg_stat_wal_receiver")
IFS='|' read -r status sender_host sender_port lag <<<"$row"
if [ "$status" != streaming ]; then
  if [ -f "$marker" ]; then
    # This converge's earlier run stopped production and the old primary, then did not finish:
    # the stop step finds the old primary's shutdown checkpoint again, and promotion waits for it.
    old=$(cat "$marker")
    [[ "$old" =~ ^[a-z0-9-]+$ ]] || die "$marker: unexpected content; remove it if no switchover is under way"
    echo "gitlab-ha: switchover: $old -> $HOST_NAME (resuming: the switchover from $old stopped half-way, $marker)"
    exit 0
  fi
  # Not streaming and no switchover under way: stopping the old primary now would stop production
  # and then fail (promotion needs its shutdown checkpoint, which this host would never receive).
  die "$HOST_NAME does not stream from its primary (WAL receiver: ${status:-none}): a switchover to it would stop production and then fail, so nothing was touched. Get it streaming first (if its slot was lost, wal_status 'lost' in pg_replication_slots on the primary: set postgres.rebuildStandbys.$HOST_NAME to a new token and converge with the roles as they were), or promote it with npm run db:failover if the primary is lost"
fi
old=$(sw_peer_name "$sender_host:$sender_port")
if [ "$lag" -gt "$MAX_LAG_BYTES" ]; then
  die "$HOST_NAME lags $lag bytes of WAL behind $old, more than postgres.switchover.maxLagBytes ($MAX_LAG_BYTES): nothing was touched; converge again when it has caught up"
fi
[[ "$old" =~ ^[a-z0-9-]+$ ]] || die "$HOST_NAME streams from $sender_host:$sender_port, which is no database host of the config (DB_PEERS): nothing was touched"
printf '%s\n' "$old" >"$marker"
echo "gitlab-ha: switchover: $old -> $HOST_NAME"
GITLAB_HA_SCRIPT
)"

# [6] postgres-switchover-promote
#     after: postgres-switchover, postgres-switchover-stop-pgsq2
#     stdin: given
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: switchover: promote pgsql once it has replayed the old primary's last WAL (name and checkpoint on stdin)
# host: pgsql
PG_PORT=5432
BINDIR=/usr/pgsql-16/bin
DATA_DIR=/var/lib/pgsql/16/data
HOST_NAME=pgsql
DB_PEERS=(pgsql=10.228.129.11:5432 pgsq2=10.228.130.61:5432)
REBUILD_TOKEN=''
WAIT_SECONDS=60
SLOTS=(gitlab_ha_pgsq2)
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
# Shared by the promotion steps (switchover and db:failover).
# Physical slots for every other database host ($SLOTS), with WAL reserved from the start: for a
# physical slot that is the redo pointer of the last checkpoint, on a standby its last restartpoint
# (postgres src/backend/replication/slot.c, ReplicationSlotReserveWal). Taken just before
# pg_promote, that is before the fork and before any WAL the others may need to follow, and kept
# however long until they are back (up to max_slot_wal_keep_size). A standby may hold physical
# slots; they stay through promotion.
sw_ensure_slots() {
  local slot
  for slot in "${SLOTS[@]}"; do
    [ -z "$(sw_psql "SELECT 1 FROM pg_replication_slots WHERE slot_name = '$slot'")" ] || continue
    sw_psql "SELECT pg_create_physical_replication_slot('$slot', true)" >/dev/null
    changed "created replication slot $slot on $HOST_NAME with its WAL reserved"
  done
}
# Runs on the host the config names postgres-primary. When it is still a standby, waits until it
# has replayed past the old primary's shutdown checkpoint ($CHECKPOINT, from the stop step), then
# promotes it. Without that checkpoint it refuses: promoting then could lose committed writes.
# stdin: the old primary's name, then its shutdown checkpoint (either line may be empty).
IFS= read -r FROM || true
IFS= read -r CHECKPOINT || true
sw_has_cluster || exit 0
sw_running || exit 0
if ! sw_in_recovery; then
  rm -f "$(sw_marker)" # promoted (by this step earlier, or by db:failover): the switchover is done
  exit 0
fi
[[ "$CHECKPOINT" =~ ^[0-9A-F]{1,8}/[0-9A-F]{1,8}$ ]] ||
  die "$HOST_NAME is still a standby and ${FROM:-the old primary} was not stopped cleanly by this converge (no shutdown checkpoint): refusing to promote; for an unplanned failover use npm run db:failover"
# pg_last_wal_replay_lsn() is the end of the last replayed record, so it passes the checkpoint's
# start once the shutdown checkpoint itself has been replayed.
replayed=""
for _ in $(seq 1 $((WAIT_SECONDS * 5))); do
  replayed=$(sw_psql "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '$CHECKPOINT') > 0")
  [ "$replayed" = t ] && break
  sleep 0.2
done
[ "$replayed" = t ] ||
  die "$HOST_NAME did not replay $FROM's shutdown checkpoint $CHECKPOINT within $WAIT_SECONDS s (replayed up to $(sw_psql 'SELECT pg_last_wal_replay_lsn()')): not promoted; $FROM is stopped, start it again to undo"
# pg_promote(wait, wait_seconds) returns true once promotion has completed
# (PostgreSQL docs, functions-admin: "pg_promote").
sw_ensure_slots
[ "$(sw_psql "SELECT pg_promote(true, $WAIT_SECONDS)")" = t ] || die "pg_promote did not complete within $WAIT_SECONDS s on $HOST_NAME"
# A rewind of the old primary reads this server's timeline from its control file, which a promotion
# updates only at the next checkpoint (docs app-pgrewind: CHECKPOINT after promotion): take it now.
sw_psql "CHECKPOINT" >/dev/null
rm -f "$(sw_marker)"
changed "promoted $HOST_NAME to primary after replaying $FROM's shutdown checkpoint $CHECKPOINT"
GITLAB_HA_SCRIPT
)"

# [7] postgres-pgsql-install
#     after: -
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install PostgreSQL 16 on pgsql
# host: pgsql
OS_FAMILY=dnf
OS_RELEASE=9
PG_VERSION=16
PACKAGE_SOURCE=pgdg
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

# [8] postgres-pgsql-cluster
#     after: postgres-pgsql-install, postgres-switchover-promote
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: create the PostgreSQL cluster on pgsql unless one exists
# host: pgsql
OS_FAMILY=dnf
PG_VERSION=16
PG_PORT=5432
BINDIR=/usr/pgsql-16/bin
DATA_DIR=/var/lib/pgsql/16/data
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

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
dnf() { with_package_lock command dnf "$@"; }
# Creates the primary's cluster once. An existing cluster of the configured version is kept as it
# is; a non-empty directory that holds no cluster is never initialised over.
if [ -f "$DATA_DIR/PG_VERSION" ]; then
  have=$(cat "$DATA_DIR/PG_VERSION")
  [ "$have" = "$PG_VERSION" ] || die "$DATA_DIR holds a PostgreSQL $have cluster but config asks for $PG_VERSION: upgrade it (pg_upgrade) first"
  exit 0
fi
if [ -d "$DATA_DIR" ] && [ -n "$(ls -A "$DATA_DIR")" ]; then
  die "$DATA_DIR is not empty and holds no PostgreSQL cluster: refusing to initialise over it"
fi
initdb_opts=(--encoding=UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 --data-checksums)
parent=$(dirname "$DATA_DIR")
[ -d "$parent" ] || install -d -o postgres -g postgres -m 0755 "$parent"
install -d -o postgres -g postgres -m 0700 "$DATA_DIR"
case "$OS_FAMILY" in
  apt) pg_createcluster "$PG_VERSION" main -d "$DATA_DIR" -p "$PG_PORT" -- "${initdb_opts[@]}" >/dev/null ;;
  dnf) runuser -u postgres -- "$BINDIR/initdb" -D "$DATA_DIR" "${initdb_opts[@]}" >/dev/null ;;
esac
changed "initialised a PostgreSQL $PG_VERSION cluster in $DATA_DIR"
GITLAB_HA_SCRIPT
)"

# [9] postgres-pgsql-conf-write
#     after: postgres-pgsql-cluster
#     stdin: files/var/lib/pgsql/16/data/conf.d/50-gitlab-ha.conf (mode 0640, postgres:postgres)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /var/lib/pgsql/16/data/conf.d/50-gitlab-ha.conf on pgsql
# host: pgsql
FILE_PATH=/var/lib/pgsql/16/data/conf.d/50-gitlab-ha.conf
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

# [10] postgres-pgsql-hba-write
#     after: postgres-pgsql-cluster
#     stdin: files/var/lib/pgsql/16/data/pg_hba.conf (mode 0640, postgres:postgres)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /var/lib/pgsql/16/data/pg_hba.conf on pgsql
# host: pgsql
FILE_PATH=/var/lib/pgsql/16/data/pg_hba.conf
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

# [11] postgres-pgsql-service
#     after: postgres-pgsql-conf-write, postgres-pgsql-hba-write
#     stdin: none
#     re-run when changed: ["78bba52050ccc471d908014aa90d04ab66e9d54a454866fd20d8e89eab8bf6f4","0b2bcf8082898245e3b4c7a69377fe033e312cac521b3be8c1d217c6fdd00579"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: run postgresql-16 on pgsql with its current configuration
# host: pgsql
PG_PORT=5432
BINDIR=/usr/pgsql-16/bin
DATA_DIR=/var/lib/pgsql/16/data
CONF_DIR=/var/lib/pgsql/16/data
SERVICE=postgresql-16
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

# [12] postgres-pgsql-objects
#     after: postgres-gitlab-password, postgres-pgsql-service, postgres-replication-password
#     stdin: [secret]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: roles, database gitlabhq_production, extensions and replication slots on pgsql
# host: pgsql
BINDIR=/usr/pgsql-16/bin
PG_PORT=5432
DATABASE=gitlabhq_production
GITLAB_USER=gitlab
GITLAB_CREATEDB=true
REPLICATION_USER=backup
EXTENSIONS=(pg_trgm btree_gist plpgsql amcheck)
SLOT_PREFIX=gitlab_ha_
SLOTS=(gitlab_ha_pgsq2)
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Converges what GitLab and the standbys need inside the primary: the replication and gitlab
# roles, the GitLab database and its extensions, one physical slot per standby.
# stdin: two lines, the SCRAM verifiers of the replication role and of the gitlab role. They are
# compared with pg_authid and sent to psql on its stdin, never on a command line or in output.
IFS= read -r replication_verifier || die "stdin: missing the replication role's verifier"
IFS= read -r gitlab_verifier || die "stdin: missing the gitlab role's verifier"

# synchronous_commit = local: with postgres.synchronous on and no standby streaming yet (the first
# converge: the standby's base backup waits for this step) a commit would wait for a standby
# forever; at local or below a commit does not wait for replication (postgres
# src/include/replication/syncrep.h, SyncRepRequested). Only this step's own sessions.
psql_in() { runuser -u postgres -- env PGOPTIONS="-c synchronous_commit=local" "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -p "$PG_PORT" -d "$1"; }
q() { printf '%s\n' "$2" | psql_in "$1"; }

ensure_role() { # name, attributes (SQL), verifier
  local name=$1 attrs=$2 verifier=$3 row want
  row=$(q postgres "SELECT concat(rolcanlogin::int, rolreplication::int, rolcreatedb::int) FROM pg_roles WHERE rolname = '$name'")
  if [ -z "$row" ]; then
    printf "CREATE ROLE %s %s PASSWORD '%s';\n" "$name" "$attrs" "$verifier" | psql_in postgres
    changed "created role $name"
    return
  fi
  want=1
  case " $attrs " in *" REPLICATION "*) want+=1 ;; *) want+=0 ;; esac
  case " $attrs " in *" CREATEDB "*) want+=1 ;; *) want+=0 ;; esac
  if [ "$row" != "$want" ]; then
    q postgres "ALTER ROLE $name $attrs;"
    changed "role $name: attributes set to $attrs"
  fi
  if [ "$(q postgres "SELECT rolpassword FROM pg_authid WHERE rolname = '$name'")" != "$verifier" ]; then
    printf "ALTER ROLE %s PASSWORD '%s';\n" "$name" "$verifier" | psql_in postgres
    changed "role $name: password set"
  fi
}

ensure_role "$REPLICATION_USER" "LOGIN REPLICATION NOCREATEDB" "$replication_verifier"
if [ "$GITLAB_CREATEDB" = true ]; then gitlab_attrs="LOGIN NOREPLICATION CREATEDB"; else gitlab_attrs="LOGIN NOREPLICATION NOCREATEDB"; fi
ensure_role "$GITLAB_USER" "$gitlab_attrs" "$gitlab_verifier"

owner=$(q postgres "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$DATABASE'")
if [ -z "$owner" ]; then
  q postgres "CREATE DATABASE $DATABASE OWNER $GITLAB_USER ENCODING 'UTF8' TEMPLATE template0;"
  changed "created database $DATABASE owned by $GITLAB_USER"
elif [ "$owner" != "$GITLAB_USER" ]; then
  q postgres "ALTER DATABASE $DATABASE OWNER TO $GITLAB_USER;"
  changed "database $DATABASE: owner $owner -> $GITLAB_USER"
fi

for ext in "${EXTENSIONS[@]}"; do
  if [ -z "$(q "$DATABASE" "SELECT 1 FROM pg_extension WHERE extname = '$ext'")" ]; then
    q "$DATABASE" "CREATE EXTENSION IF NOT EXISTS $ext;"
    changed "created extension $ext in $DATABASE"
  fi
done

# Slots: one per declared standby. Slots of this program (prefix $SLOT_PREFIX) whose standby was
# removed from the config are dropped once inactive, so they cannot pin WAL forever.
existing=$(q postgres "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'physical' AND slot_name LIKE '${SLOT_PREFIX}%'")
for slot in "${SLOTS[@]}"; do
  if ! grep -qx "$slot" <<<"$existing"; then
    # WAL reserved now, not at the standby's first connection (sw_ensure_slots, switchover-slots.sh).
    q postgres "SELECT pg_create_physical_replication_slot('$slot', true);" >/dev/null
    changed "created replication slot $slot"
  fi
done
while IFS= read -r slot; do
  [ -n "$slot" ] || continue
  case " ${SLOTS[*]} " in *" $slot "*) continue ;; esac
  if [ "$(q postgres "SELECT active FROM pg_replication_slots WHERE slot_name = '$slot'")" = f ]; then
    q postgres "SELECT pg_drop_replication_slot('$slot');" >/dev/null
    changed "dropped replication slot $slot (its standby left the config)"
  fi
done <<<"$existing"
GITLAB_HA_SCRIPT
)"

# [13] postgres-rewind-role
#     after: postgres-pgsql-objects
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: let backup be the source of a rewind on pgsql
# host: pgsql
PG_PORT=5432
BINDIR=/usr/pgsql-16/bin
DATA_DIR=/var/lib/pgsql/16/data
REPLICATION_USER=backup
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
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
# On the primary: lets the replication role be the source of a rewind, which reads the files
# through these four functions over a normal connection to database postgres (docs:
# app-pgrewind, Notes: a non-superuser role with EXECUTE on them is enough).
for f in 'pg_ls_dir(text, boolean, boolean)' 'pg_stat_file(text, boolean)' 'pg_read_binary_file(text)' 'pg_read_binary_file(text, bigint, bigint, boolean)'; do
  if [ "$(sw_psql "SELECT has_function_privilege('$REPLICATION_USER', 'pg_catalog.$f', 'EXECUTE')")" != t ]; then
    sw_psql "GRANT EXECUTE ON FUNCTION pg_catalog.$f TO $REPLICATION_USER" >/dev/null
    changed "granted EXECUTE on $f to $REPLICATION_USER (rewind source)"
  fi
done
GITLAB_HA_SCRIPT
)"
