# Commands of hosts/drbd-witness, in order (gitlab-ha offline render).

# [1] drbd-drbd-witness-install
#     after: -
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install DRBD tools, keep drbd.service off at boot
# host: drbd-witness
OS_FAMILY=dnf
PACKAGES=(drbd9x-utils kmod-drbd9x)
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

# [2] drbd-drbd-witness-global-write
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

# [3] drbd-drbd-witness-res-write
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

# [4] drbd-drbd-witness-check
#     after: drbd-drbd-witness-global-write, drbd-drbd-witness-res-write
#     stdin: none
#     re-run when changed: ["a65ff7b4585252b8cd5375ad7d7a2d27b581cb7eb171694263358917e18341ba","eca58908e2d9f653d45658dc6563c6b381cc5b1b1b70a95a664f34b6dfdb2dd0"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: validate DRBD resource gitlab with drbdadm; no fstab mount
# host: drbd-witness
OS_FAMILY=dnf
RESOURCE=gitlab
DEVICE=/dev/drbd0
DISK=''
MOUNT_POINT=/vdb
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

# [5] firewall-drbd-witness-install
#     after: -
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install the OS's iptables persistence
# host: drbd-witness
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

# [6] firewall-drbd-witness-rules-write
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

# [7] firewall-drbd-witness-apply
#     after: firewall-drbd-witness-rules-write
#     stdin: none
#     re-run when changed: ["dfbc048f2795e82177d572142ef63b49f674f215ececb678751f6630c99e5b2a"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: apply chain GITLAB-HA-INPUT and persist it
# host: drbd-witness
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
