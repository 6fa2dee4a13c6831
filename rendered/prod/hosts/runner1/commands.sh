# Commands of hosts/runner1, in order (gitlab-ha offline render).

# [1] runner-runner1-template-write
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
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
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

# [2] runner-runner1-register
#     after: runner-runner1-template-write
#     stdin: [secret]
#     re-run when changed: ["7fe183c3bab0fcbdd2444fe115d20b3cea1f608d624c4c5eb230664f6efbf2b0"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: register runners docker-1 and write config.toml
# host: runner1
TOKEN_DIR=/etc/gitlab-runner/tokens
TEMPLATE=/etc/gitlab-runner/config.toml.tmpl
CONFIG_FILE=/etc/gitlab-runner/config.toml
RUNNER_NAMES=(docker-1)
RUNNER_URLS=(https://gitlab.example.com)
RUNNER_DESCRIPTIONS=(docker-1)
RUNNER_TAGS=('')
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
# Registers this host's runners and writes config.toml. stdin: one line per runner,
# "<name> token <glrt-...>" (authentication token, GitLab 15.10+) or "<name> registration <token>"
# (legacy flow: registered once through POST /api/v4/runners). Each runner's token is kept in a
# 0600 file under $TOKEN_DIR, so a second run registers nothing again; a runner that left the
# config is unregistered (DELETE /api/v4/runners) and forgotten. config.toml is the template
# with the tokens filled in, rewritten only when it differs. Tokens never appear in argv or output.
declare -A kind token
while read -r name k t; do
  [ -n "$name" ] || continue
  kind[$name]=$k
  token[$name]=$t
done
install -d -m 0700 "$TOKEN_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

api() { # method, url, then curl -F fields; the token field is read from a file by curl itself
  curl --silent --show-error --fail --max-time 30 -X "$1" "$2/api/v4/runners" "${@:3}"
}

for i in "${!RUNNER_NAMES[@]}"; do
  n=${RUNNER_NAMES[$i]}
  url=${RUNNER_URLS[$i]}
  [ -n "${kind[$n]:-}" ] || die "no token on stdin for runner $n"
  printf '%s' "${token[$n]}" >"$work/given"
  case "${kind[$n]}" in
    token)
      if ! cmp -s "$work/given" "$TOKEN_DIR/$n"; then
        install -m 0600 "$work/given" "$TOKEN_DIR/$n"
        changed "runner $n: authentication token installed"
      fi
      ;;
    registration)
      if [ ! -s "$TOKEN_DIR/$n" ]; then
        api POST "$url" -F "token=<$work/given" -F "description=${RUNNER_DESCRIPTIONS[$i]}" \
          -F "tag_list=${RUNNER_TAGS[$i]}" -F "run_untagged=$([ -z "${RUNNER_TAGS[$i]}" ] && echo true || echo false)" >"$work/reply" ||
          die "runner $n: registration at $url failed"
        sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' "$work/reply" | tr -d '\n' >"$work/issued"
        [ -s "$work/issued" ] || die "runner $n: $url answered without a token"
        install -m 0600 "$work/issued" "$TOKEN_DIR/$n"
        changed "runner $n: registered at $url"
      fi
      ;;
    *) die "runner $n: unknown token kind '${kind[$n]}'" ;;
  esac
  printf '%s\n' "$url" >"$TOKEN_DIR/$n.url"
done

# Runners no longer in the config: unregistered at their GitLab, then forgotten.
for f in "$TOKEN_DIR"/*; do
  [ -f "$f" ] || continue
  n=$(basename "$f")
  case "$n" in *.url) continue ;; esac
  case " ${RUNNER_NAMES[*]} " in *" $n "*) continue ;; esac
  url=$(cat "$TOKEN_DIR/$n.url")
  api DELETE "$url" -F "token=<$f" >/dev/null || die "runner $n: unregistering at $url failed"
  rm -f "$f" "$TOKEN_DIR/$n.url"
  changed "runner $n: unregistered at $url"
done

# config.toml: the template with every placeholder replaced by the runner's token file.
awk -v dir="$TOKEN_DIR" '
  match($0, /@@GITLAB_HA_TOKEN:[a-z0-9-]+@@/) {
    name = substr($0, RSTART + 18, RLENGTH - 20)
    file = dir "/" name
    if ((getline tok < file) <= 0) { print "no token file for " name > "/dev/stderr"; exit 1 }
    close(file)
    $0 = substr($0, 1, RSTART - 1) tok substr($0, RSTART + RLENGTH)
  }
  { print }' "$TEMPLATE" >"$work/config.toml"
if ! cmp -s "$work/config.toml" "$CONFIG_FILE"; then
  install -m 0600 "$work/config.toml" "$CONFIG_FILE"
  changed "$CONFIG_FILE written (runners: ${RUNNER_NAMES[*]:-none})"
fi
GITLAB_HA_SCRIPT
)"

# [3] firewall-runner1-install
#     after: -
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install the OS's iptables persistence
# host: runner1
OS_FAMILY=dnf
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
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
GITLAB_HA_SCRIPT
)"

# [4] firewall-runner1-rules-write
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
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
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

# [5] firewall-runner1-apply
#     after: firewall-runner1-rules-write
#     stdin: none
#     re-run when changed: ["f3b1bfc352cf31ac684123b9d86dd3deb892fe27979e64c304d0652be8a9858b"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: apply chain GITLAB-HA-INPUT and persist it
# host: runner1
RULES_FILE=/etc/gitlab-ha/iptables.rules
CHAIN=GITLAB-HA-INPUT
PERSIST_FILE=/etc/sysconfig/iptables
SSH_SOURCES=(10.228.0.0/16)
# gitlab-ha host library, prepended to every host script.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }

# The config names the OS family; refuse to run apt steps on a dnf host and the reverse.
require_family() {
  case "$OS_FAMILY" in
    apt) command -v apt-get >/dev/null 2>&1 || die "config says this is an apt host, but apt-get is missing" ;;
    dnf) command -v dnf >/dev/null 2>&1 || die "config says this is a dnf host, but dnf is missing" ;;
    *) die "unknown OS family '$OS_FAMILY'" ;;
  esac
}
# Loads $RULES_FILE (chain $CHAIN only), makes INPUT jump to it first and once, and persists the
# ruleset to $PERSIST_FILE for boot. Nothing differs: nothing is touched and nothing printed.
[ -f "$RULES_FILE" ] || die "$RULES_FILE is missing: the rules file step did not run"
command -v iptables-restore >/dev/null 2>&1 || die "iptables-restore is missing: the firewall install step did not run"

# IPv4 CIDR match in awk (numbers stay exact below 2^53). A bare address is a /32.
in_cidr() {
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
client=${client#::ffff:}
# An IPv6 client is not filtered by these IPv4 rules, so only an IPv4 client is checked.
if [ -n "$client" ] && [[ $client != *:* ]]; then
  ok=false
  for src in "${SSH_SOURCES[@]}"; do
    if in_cidr "$client" "$src"; then ok=true; break; fi
  done
  [ "$ok" = true ] || die "this SSH session comes from $client, outside the allowed SSH sources (${SSH_SOURCES[*]}): applying the firewall could lock it out; add it to the SSH sources"
fi

# Load the desired chain beside the live one under another name, then compare.
new="$CHAIN-NEW"
tmp=$(mktemp)
cleanup() {
  rm -f "$tmp"
  if iptables -w -n -L "$new" >/dev/null 2>&1; then iptables -w -F "$new" && iptables -w -X "$new"; fi
}
trap cleanup EXIT
sed -E "s/^(:|-[AFN] )$CHAIN( |\$)/\\1$new\\2/" "$RULES_FILE" >"$tmp"
iptables-restore -w 10 --noflush <"$tmp" || die "iptables-restore rejected $RULES_FILE"
rules_of() { iptables -w -S "$1" 2>/dev/null | sed -E "s/^(-[NA]) $1( |\$)/\\1 chain\\2/"; }
if [ "$(rules_of "$CHAIN")" != "$(rules_of "$new")" ]; then
  iptables-restore -w 10 --noflush <"$RULES_FILE"
  changed "chain $CHAIN loaded from $RULES_FILE"
fi
cleanup

# INPUT jumps to the chain exactly once, as its first rule: rules before it could accept what the
# chain refuses, and the chain ends by rejecting everything else.
jumps=$(iptables -w -n -L INPUT --line-numbers | awk -v c="$CHAIN" '$2 == c { print $1 }')
if [ "$jumps" != 1 ] || [ "$(iptables -w -S INPUT | grep -m 1 '^-A ')" != "-A INPUT -j $CHAIN" ]; then
  # Highest number first, so the numbers left to delete stay valid.
  sort -rn <<<"$jumps" | while read -r n; do [ -z "$n" ] || iptables -w -D INPUT "$n"; done
  iptables -w -I INPUT 1 -j "$CHAIN"
  changed "INPUT jumps to $CHAIN first"
fi

# Persist the whole ruleset (as the boot service restores it), without timestamps or counters so
# the file only changes when rules do.
saved=$(iptables-save | grep -v -e '^# Generated by' -e '^# Completed on' | sed -E 's/ \[[0-9]+:[0-9]+\]$/ [0:0]/; s/^\[[0-9]+:[0-9]+\] //')
current=$(sed -E '/^# (Generated by|Completed on)/d; s/ \[[0-9]+:[0-9]+\]$/ [0:0]/; s/^\[[0-9]+:[0-9]+\] //' "$PERSIST_FILE" 2>/dev/null || true)
if [ "$saved" != "$current" ]; then
  dir=$(dirname "$PERSIST_FILE")
  if [ ! -d "$dir" ]; then
    install -d -m 0755 "$dir"
    changed "$dir created"
  fi
  ptmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
  printf '%s\n' "$saved" >"$ptmp"
  chmod 0600 "$ptmp"
  mv -f "$ptmp" "$PERSIST_FILE"
  changed "$PERSIST_FILE written"
fi
GITLAB_HA_SCRIPT
)"
