# Commands of hosts/runner1, in order (gitlab-ha offline render).

# [1] firewall-runner1-install
#     after: -
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install the OS's iptables persistence, mask firewalld
# host: runner1
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

# [2] firewall-runner1-rules-write
#     after: firewall-runner1-install
#     stdin: files/etc/gitlab-ha/iptables.rules (mode 0600, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-ha/iptables.rules on runner1
# host: runner1
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

# [3] firewall-runner1-rules6-write
#     after: firewall-runner1-install
#     stdin: files/etc/gitlab-ha/ip6tables.rules (mode 0600, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-ha/ip6tables.rules on runner1
# host: runner1
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

# [4] firewall-runner1-apply
#     after: firewall-runner1-rules-write, firewall-runner1-rules6-write
#     stdin: none
#     re-run when changed: ["d6d1b698b74f16cb648aea17203e66fed7e7fa15c0f80cd916ae4b325f2722f1","598d83bad46f6164adfaa30a203f6114534f94628217b803297fd88609b385ef"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: apply chains GITLAB-HA-INPUT and GITLAB-HA-DOCKER (IPv4 and IPv6) and persist them
# host: runner1
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

# [5] runner-runner1-template-write
#     after: -
#     stdin: files/etc/gitlab-runner/config.toml.tmpl (mode 0640, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-runner/config.toml.tmpl on runner1
# host: runner1
FILE_PATH=/etc/gitlab-runner/config.toml.tmpl
FILE_MODE=0640
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

# [6] runner-runner1-register
#     after: runner-runner1-template-write
#     stdin: [secret]
#     re-run when changed: ["13fd9f9d6e98a9d636acab57f3a8e0f1b7a0dfdf997a293de779da98a6950bf6"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: register runners docker-1 and write config.toml
# host: runner1
TOKEN_DIR=/etc/gitlab-runner/tokens
SYSTEM_ID_FILE=/etc/gitlab-runner/.runner_system_id
TEMPLATE=/etc/gitlab-runner/config.toml.tmpl
CONFIG_FILE=/etc/gitlab-runner/config.toml
RUNNER_NAMES=(docker-1)
RUNNER_URLS=(https://gitlab.example.com)
RUNNER_DESCRIPTIONS=(docker-1)
RUNNER_TAGS=('')
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
# Registers this host's runners and writes config.toml. stdin: one line per runner,
# "<name> token <glrt-...>" (authentication token, GitLab 15.10+) or "<name> registration <token>"
# (legacy flow). As `gitlab-runner register` does (commands/register.go verifyRunner,
# doLegacyRegisterRunner): a glrt- token is verified with POST /api/v4/runners/verify (200 with
# {id, token, token_expires_at}: network/gitlab.go VerifyRunner), a registration token registers
# once with POST /api/v4/runners (201, same body); either way the runner's entry gets id, token,
# token_obtained_at and token_expires_at. A refused token stops the step with the runner's name and
# GitLab's answer. Per runner, 0600 files under $TOKEN_DIR keep the current token ($n), its GitLab
# URL ($n.url) and $n.cred: the sha256 of the configured token that was verified or registered, and
# id/obtained/expires. gitlab-runner rotates a token before it expires and saves the new one in
# config.toml (commands/multi.go resetOneRunnerToken): that token is taken over here, and while the
# configured token stays the same it is never replaced by it. Tokens never appear in argv or output.
declare -A kind token
while read -r name k t; do
  [ -n "$name" ] || continue
  kind[$name]=$k
  token[$name]=$t
done
install -d -m 0700 "$TOKEN_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ZERO_TIME=0001-01-01T00:00:00Z # what gitlab-runner writes for an unset time (no expiry)

api() { # method, url, then form fields: the token as -F name=<file (curl reads the file we wrote),
  # every other field with --form-string, so a value starting with @ or < is sent as text and never
  # makes curl upload a file (curl(1), -F).
  curl --silent --show-error --max-time 30 -X "$1" "$2/api/v4/runners" "${@:3}"
}


system_id() { # gitlab-runner's own rule: a valid id is ^[sr]_[0-9a-zA-Z]{12}$ (configfile/system_id_state.go)
  local id=""
  [ -r "$SYSTEM_ID_FILE" ] && id=$(tr -d '[:space:]' <"$SYSTEM_ID_FILE")
  [[ "$id" =~ ^[sr]_[0-9a-zA-Z]{12}$ ]] && printf '%s' "$id"
  return 0
}

json_field() { # key, file: a JSON string or number value of a flat object; empty for null or absent
  sed -n 's/.*"'"$1"'" *: *"\{0,1\}\([^",}]*\)"\{0,1\} *[,}].*/\1/p' "$2" | head -n 1 | sed 's/^null$//'
}

answer_of() { # GitLab's message in a reply file, one line, at most 200 characters, no token in it
  local m
  m=$(json_field message "$1")
  [ -n "$m" ] || m=$(json_field error "$1")
  m=${m//"$2"/[token]}
  printf '%s' "${m:0:200}"
}

valid_time() { [[ "$1" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$ ]]; }

save_cred() { # runner, sha256 of the configured token, id, obtained, expires
  printf 'given=%s\nid=%s\nobtained=%s\nexpires=%s\n' "$2" "$3" "$4" "$5" >"$work/cred"
  install -m 0600 "$work/cred" "$TOKEN_DIR/$1.cred"
}

cred_of() { sed -n "s/^$2=//p" "$TOKEN_DIR/$1.cred" 2>/dev/null; }

host_entry() { # runner name: "token id obtained expires" of its [[runners]] entry in config.toml
  # (gitlab-runner writes the runner's own keys before its sub-tables, as this project does)
  [ -r "$CONFIG_FILE" ] || return 0
  awk -v want="$1" '
    function val(s) { sub(/^[^=]*=[ \t]*/, "", s); sub(/[ \t]+$/, "", s); gsub(/^"|"$/, "", s); return s }
    function flush() { if (inr && name == want && !done) { print tok, id, ob, ex; done = 1 } inr = 0 }
    /^[ \t]*\[\[runners\]\][ \t]*$/ { flush(); inr = 1; name = tok = id = ob = ex = ""; next }
    /^[ \t]*\[/ { flush(); next }
    inr && /^[ \t]*name[ \t]*=/ { name = val($0) }
    inr && /^[ \t]*token[ \t]*=/ { tok = val($0) }
    inr && /^[ \t]*id[ \t]*=/ { id = val($0) }
    inr && /^[ \t]*token_obtained_at[ \t]*=/ { ob = val($0) }
    inr && /^[ \t]*token_expires_at[ \t]*=/ { ex = val($0) }
    END { flush() }' "$CONFIG_FILE"
}

for i in "${!RUNNER_NAMES[@]}"; do
  n=${RUNNER_NAMES[$i]}
  url=${RUNNER_URLS[$i]}
  [ -n "${kind[$n]:-}" ] || die "runner $n: no token on stdin"
  printf '%s' "${token[$n]}" >"$work/given"
  given=$(sha256sum <"$work/given" | cut -d' ' -f1)

  # A token gitlab-runner rotated since the last run: config.toml holds it, our file the old one.
  if [ -s "$TOKEN_DIR/$n" ] && [ -s "$TOKEN_DIR/$n.cred" ]; then
    htok='' hid='' hob='' hex=''
    read -r htok hid hob hex < <(host_entry "$n") || true
    if [ -n "${htok:-}" ] && [[ "$htok" != @@* ]] && [ "$htok" != "$(cat "$TOKEN_DIR/$n")" ]; then
      if ! [[ "$htok" =~ ^[A-Za-z0-9._-]+$ && "${hid:-}" =~ ^[0-9]+$ ]] || ! valid_time "${hob:-}" || ! valid_time "${hex:-}"; then
        die "runner $n: $CONFIG_FILE holds a token or credentials this step cannot read; fix or remove its entry"
      fi
      printf '%s' "$htok" >"$work/rotated"
      install -m 0600 "$work/rotated" "$TOKEN_DIR/$n"
      save_cred "$n" "$(cred_of "$n" given)" "$hid" "$hob" "$hex"
      changed "runner $n: kept the token gitlab-runner rotated (expires $hex)"
    fi
  fi

  if [ "$(cred_of "$n" given)" = "$given" ] && [ -s "$TOKEN_DIR/$n" ]; then
    : # the configured token is the one already verified or registered: the host's current token stays
  else
    case "${kind[$n]}" in
      token)
        [[ "${token[$n]}" =~ ^[A-Za-z0-9._-]+$ ]] || die "runner $n: the token has unexpected characters"
        sid=$(system_id)
        # VerifyRunner's request: {token, system_id} and the RUNNER-TOKEN header (network/gitlab.go);
        # both from 0600 files in $work, never from argv.
        { printf '{"token":"%s"' "${token[$n]}"; [ -z "$sid" ] || printf ',"system_id":"%s"' "$sid"; printf '}'; } >"$work/body"
        printf 'RUNNER-TOKEN: %s\n' "${token[$n]}" >"$work/header"
        code=$(curl --silent --show-error --max-time 30 -X POST -H 'Content-Type: application/json' -H "@$work/header" \
          --data-binary "@$work/body" -o "$work/reply" -w '%{http_code}' "$url/api/v4/runners/verify") ||
          die "runner $n: GitLab at $url could not be reached to verify its token"
        [ "$code" = 200 ] || die "runner $n: GitLab at $url refused its token: POST /api/v4/runners/verify answered HTTP $code $(answer_of "$work/reply" "${token[$n]}")"
        id=$(json_field id "$work/reply")
        issued=$(json_field token "$work/reply")
        expires=$(json_field token_expires_at "$work/reply")
        what="verified at $url"
        ;;
      registration)
        if [ -s "$TOKEN_DIR/$n" ]; then
          # Registered before with another registration token: the runner stays registered.
          save_cred "$n" "$given" "$(cred_of "$n" id)" "$(cred_of "$n" obtained)" "$(cred_of "$n" expires)"
          printf '%s\n' "$url" >"$TOKEN_DIR/$n.url"
          continue
        fi
        code=$(api POST "$url" -F "token=<$work/given" --form-string "description=${RUNNER_DESCRIPTIONS[$i]}" \
          --form-string "tag_list=${RUNNER_TAGS[$i]}" --form-string "run_untagged=$([ -z "${RUNNER_TAGS[$i]}" ] && echo true || echo false)" \
          -o "$work/reply" -w '%{http_code}') || die "runner $n: GitLab at $url could not be reached to register it"
        # RegisterRunner expects 201 (network/gitlab.go).
        [ "$code" = 201 ] || die "runner $n: GitLab at $url refused its registration token: POST /api/v4/runners answered HTTP $code $(answer_of "$work/reply" "${token[$n]}")"
        id=$(json_field id "$work/reply")
        issued=$(json_field token "$work/reply")
        expires=$(json_field token_expires_at "$work/reply")
        [ -n "$issued" ] || die "runner $n: $url answered without a token"
        what="registered at $url"
        ;;
      *) die "runner $n: unknown token kind '${kind[$n]}'" ;;
    esac
    # commands/register.go: a reply without a runner id is a failed verification.
    [[ "$id" =~ ^[1-9][0-9]*$ ]] || die "runner $n: GitLab at $url answered without a runner id"
    [ -n "$issued" ] || issued=${token[$n]}
    [[ "$issued" =~ ^[A-Za-z0-9._-]+$ ]] || die "runner $n: GitLab at $url answered with a token of unexpected characters"
    [ -n "$expires" ] || expires=$ZERO_TIME
    valid_time "$expires" || die "runner $n: GitLab at $url answered with an unreadable token_expires_at"
    printf '%s' "$issued" >"$work/issued"
    install -m 0600 "$work/issued" "$TOKEN_DIR/$n"
    save_cred "$n" "$given" "$id" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$expires"
    changed "runner $n: $what (runner id $id, token expires $expires)"
  fi
  printf '%s\n' "$url" >"$TOKEN_DIR/$n.url"
done

# config.toml: the template with each runner's token line replaced by its credentials, as
# gitlab-runner writes them (common/config.go RunnerCredentials: id, token, token_obtained_at,
# token_expires_at; the times as TOML date-times).
awk -v dir="$TOKEN_DIR" -v zero="$ZERO_TIME" '
  match($0, /^[ \t]*token = "@@GITLAB_HA_TOKEN:[a-z0-9-]+@@"$/) {
    name = $0; sub(/^.*@@GITLAB_HA_TOKEN:/, "", name); sub(/@@"$/, "", name)
    file = dir "/" name
    if ((getline tok < file) <= 0) { print "no token file for " name > "/dev/stderr"; exit 1 }
    close(file)
    id = 0; ob = zero; ex = zero
    cred = file ".cred"
    while ((getline line < cred) > 0) {
      if (line ~ /^id=[0-9]+$/) id = substr(line, 4)
      else if (line ~ /^obtained=./) ob = substr(line, 10)
      else if (line ~ /^expires=./) ex = substr(line, 9)
    }
    close(cred)
    printf "id = %s\ntoken = \"%s\"\ntoken_obtained_at = %s\ntoken_expires_at = %s\n", id, tok, ob, ex
    next
  }
  { print }' "$TEMPLATE" >"$work/config.toml"
if ! cmp -s "$work/config.toml" "$CONFIG_FILE"; then
  install -m 0600 "$work/config.toml" "$CONFIG_FILE"
  changed "$CONFIG_FILE written (runners: ${RUNNER_NAMES[*]:-none})"
fi

# Runners no longer in the config (config.toml, written above, no longer names them, so the running
# gitlab-runner stops using their tokens): unregistered at their GitLab, then forgotten.
for f in "$TOKEN_DIR"/*; do
  [ -f "$f" ] || continue
  n=$(basename "$f")
  case "$n" in *.url | *.cred) continue ;; esac
  case " ${RUNNER_NAMES[*]} " in *" $n "*) continue ;; esac
  url=$(cat "$TOKEN_DIR/$n.url")
  tok=$(cat "$f")
  case "$tok" in
    glrt-*)
      # network/gitlab.go TokenIsCreatedRunnerToken: a runner created in GitLab (glrt-) is shared by
      # every host using its token; only this host's manager goes: DELETE /api/v4/runners/managers
      # {token, system_id}, as UnregisterRunnerManager sends it. 404: GitLab has no such manager.
      sid=$(system_id)
      if [ -z "$sid" ]; then
        rm -f "$f" "$TOKEN_DIR/$n.url" "$TOKEN_DIR/$n.cred"
        changed "runner $n: forgotten (no runner system id in $SYSTEM_ID_FILE: this host never ran it; the runner stays in GitLab)"
        continue
      fi
      [[ "$tok" =~ ^[A-Za-z0-9._-]+$ ]] || die "runner $n: the stored token has unexpected characters"
      printf '{"token":"%s","system_id":"%s"}' "$tok" "$sid" >"$work/body"
      printf 'RUNNER-TOKEN: %s\n' "$tok" >"$work/header"
      code=$(curl --silent --show-error --max-time 30 -X DELETE -H 'Content-Type: application/json' -H "@$work/header" \
        --data-binary "@$work/body" -o /dev/null -w '%{http_code}' "$url/api/v4/runners/managers") ||
        die "runner $n: unregistering its manager $sid at $url failed"
      case "$code" in
        204) what="unregistered" ;;
        404) what="was not known" ;;
        *) die "runner $n: unregistering its manager $sid at $url answered HTTP $code" ;;
      esac
      rm -f "$f" "$TOKEN_DIR/$n.url" "$TOKEN_DIR/$n.cred"
      changed "runner $n: runner manager $sid $what at $url (the runner stays in GitLab)"
      ;;
    *)
      code=$(api DELETE "$url" -F "token=<$f" -o /dev/null -w '%{http_code}') || die "runner $n: unregistering at $url failed"
      # UnregisterRunner expects 204 (network/gitlab.go).
      [ "$code" = 204 ] || die "runner $n: unregistering at $url answered HTTP $code"
      rm -f "$f" "$TOKEN_DIR/$n.url" "$TOKEN_DIR/$n.cred"
      changed "runner $n: unregistered at $url"
      ;;
  esac
done
GITLAB_HA_SCRIPT
)"
