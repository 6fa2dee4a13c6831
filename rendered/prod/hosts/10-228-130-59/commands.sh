# Commands of hosts/10-228-130-59, in order (gitlab-ha offline render).

# [1] drbd-10-228-130-59-install
#     after: -
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install DRBD tools, keep drbd.service off at boot
# host: 10-228-130-59
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

# [2] drbd-10-228-130-59-global-write
#     after: drbd-10-228-130-59-install
#     stdin: files/etc/drbd.d/global_common.conf (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/drbd.d/global_common.conf on 10-228-130-59
# host: 10-228-130-59
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

# [3] drbd-10-228-130-59-res-write
#     after: drbd-10-228-130-59-install
#     stdin: files/etc/drbd.d/gitlab.res (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/drbd.d/gitlab.res on 10-228-130-59
# host: 10-228-130-59
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

# [4] drbd-10-228-130-59-check
#     after: drbd-10-228-130-59-global-write, drbd-10-228-130-59-res-write
#     stdin: none
#     re-run when changed: ["a65ff7b4585252b8cd5375ad7d7a2d27b581cb7eb171694263358917e18341ba","eca58908e2d9f653d45658dc6563c6b381cc5b1b1b70a95a664f34b6dfdb2dd0"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: validate DRBD resource gitlab with drbdadm; no fstab mount
# host: 10-228-130-59
OS_FAMILY=dnf
RESOURCE=gitlab
DEVICE=/dev/drbd0
DISK=/dev/vdb1
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

# [5] drbd-10-228-130-59-init
#     after: drbd-10-228-130-59-check, drbd-drbd-witness-check
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: initialise DRBD resource gitlab once
# host: 10-228-130-59
OS_FAMILY=dnf
RESOURCE=gitlab
DEVICE=/dev/drbd0
DISK=/dev/vdb1
MOUNT_POINT=/vdb
MAX_PEERS=6
ACTIVATE=true
INITIAL_PRIMARY=false
FILESYSTEM=ext4
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
# One-time initialisation of a data node, safe to repeat:
#  - create-md only when the disk carries no signature at all (a disk with DRBD metadata is
#    initialised already; a disk with anything else holds data and is refused);
#  - with ACTIVATE: bring the resource up; on the initial primary only, and only while no node
#    has ever had up-to-date data, force it primary; format the device only when it holds no
#    file system; mount it.
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
# First initialisation only: this node and all its peers are Inconsistent/DUnknown (never synced).
if drbdadm dstate "$RESOURCE" | grep -qv -e UpToDate; then
  if ! drbdadm dstate "$RESOURCE" | tr '/' '\n' | grep -q UpToDate; then
    drbdadm primary --force "$RESOURCE"
    changed "forced $RESOURCE primary on its first initialisation"
  fi
fi
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

# [6] drbd-10-228-130-59-links
#     after: drbd-10-228-130-59-init
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: place GitLab's directories on /vdb
# host: 10-228-130-59
OS_FAMILY=dnf
MOUNT_POINT=/vdb
GITLAB_DIRS=(/etc/gitlab /var/opt/gitlab /var/log/gitlab)
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

# [7] failover-10-228-130-59-unit-write
#     after: drbd-10-228-130-59-links
#     stdin: files/etc/systemd/system/git_sentinel.service (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/git_sentinel.service on 10-228-130-59
# host: 10-228-130-59
FILE_PATH=/etc/systemd/system/git_sentinel.service
FILE_MODE=0644
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

# [8] failover-10-228-130-59-gitlab-after-write
#     after: drbd-10-228-130-59-links
#     stdin: files/etc/systemd/system/gitlab-container.service.d/50-gitlab-ha-after-sentinel.conf (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/gitlab-container.service.d/50-gitlab-ha-after-sentinel.conf on 10-228-130-59
# host: 10-228-130-59
FILE_PATH=/etc/systemd/system/gitlab-container.service.d/50-gitlab-ha-after-sentinel.conf
FILE_MODE=0644
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

# [9] failover-10-228-130-59-enable
#     after: failover-10-228-130-59-gitlab-after-write, failover-10-228-130-59-unit-write
#     stdin: none
#     re-run when changed: ["b7271dda9db4b49333ebbc877e7b1cb787c7615a997f01d1efc261a12e8e59d9","cc3768319bc3e02ea3aa5826d762b3075d4159a4bdb04b42a8e7e9585fa1e907"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: enable git_sentinel.service; gitlab-container.service off at boot
# host: 10-228-130-59
SENTINEL_UNIT=git_sentinel.service
GITLAB_UNIT=gitlab-container.service
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
# Keeps the failover sentinel enabled and running, and GitLab out of the boot sequence: only the
# sentinel starts GitLab (runbook section 5: gitlab-runsvdir disabled, After=git_sentinel.service).
# GitLab is never stopped here: on the active node it is the sentinel's to run. The unit files
# (the sentinel's unit, GitLab's drop-in) are written by an earlier step.
unit_missing() { [ "$(systemctl show -p LoadState --value "$1")" = not-found ]; }

for unit in "$SENTINEL_UNIT" "$GITLAB_UNIT"; do
  if [ "$(systemctl show -p NeedDaemonReload --value "$unit")" = yes ]; then
    systemctl daemon-reload
    changed "systemd reloaded units for $unit"
    break
  fi
done

unit_missing "$SENTINEL_UNIT" && die "$SENTINEL_UNIT is not installed: the unit file step did not run"
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

# [10] gitlab-10-228-130-59-unit-write
#     after: drbd-10-228-130-59-links, postgres-pgsql-objects
#     stdin: files/etc/systemd/system/gitlab-container.service (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/gitlab-container.service on 10-228-130-59
# host: 10-228-130-59
FILE_PATH=/etc/systemd/system/gitlab-container.service
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

# [11] backup-10-228-130-59-config-backup-script-write
#     after: gitlab-10-228-130-59-container, gitlab-10-228-130-59-engine, gitlab-10-228-130-59-unit-write
#     stdin: files/usr/local/sbin/gitlab-ha-config-backup (mode 0755, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /usr/local/sbin/gitlab-ha-config-backup on 10-228-130-59
# host: 10-228-130-59
FILE_PATH=/usr/local/sbin/gitlab-ha-config-backup
FILE_MODE=0755
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

# [12] backup-10-228-130-59-backup-service-write
#     after: gitlab-10-228-130-59-container, gitlab-10-228-130-59-engine, gitlab-10-228-130-59-unit-write
#     stdin: files/etc/systemd/system/gitlab-backup.service (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/gitlab-backup.service on 10-228-130-59
# host: 10-228-130-59
FILE_PATH=/etc/systemd/system/gitlab-backup.service
FILE_MODE=0644
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

# [13] backup-10-228-130-59-backup-timer-write
#     after: gitlab-10-228-130-59-container, gitlab-10-228-130-59-engine, gitlab-10-228-130-59-unit-write
#     stdin: files/etc/systemd/system/gitlab-backup.timer (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/gitlab-backup.timer on 10-228-130-59
# host: 10-228-130-59
FILE_PATH=/etc/systemd/system/gitlab-backup.timer
FILE_MODE=0644
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

# [14] backup-10-228-130-59-config-service-write
#     after: gitlab-10-228-130-59-container, gitlab-10-228-130-59-engine, gitlab-10-228-130-59-unit-write
#     stdin: files/etc/systemd/system/gitlab-config-backup.service (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/gitlab-config-backup.service on 10-228-130-59
# host: 10-228-130-59
FILE_PATH=/etc/systemd/system/gitlab-config-backup.service
FILE_MODE=0644
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

# [15] backup-10-228-130-59-config-timer-write
#     after: gitlab-10-228-130-59-container, gitlab-10-228-130-59-engine, gitlab-10-228-130-59-unit-write
#     stdin: files/etc/systemd/system/gitlab-config-backup.timer (mode 0644, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/systemd/system/gitlab-config-backup.timer on 10-228-130-59
# host: 10-228-130-59
FILE_PATH=/etc/systemd/system/gitlab-config-backup.timer
FILE_MODE=0644
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

# [16] backup-10-228-130-59-timers
#     after: backup-10-228-130-59-backup-service-write, backup-10-228-130-59-backup-timer-write, backup-10-228-130-59-config-backup-script-write, backup-10-228-130-59-config-service-write, backup-10-228-130-59-config-timer-write
#     stdin: none
#     re-run when changed: ["b409f13ce77abd447b72ce82a9fd355c41683a46d92f0c2aa89cf0289ac9adc7","7221765d09ca0fb8ce71500d93c239a8b0d27dafbbc38e4a7bf62b82ca426282","a72b971271b59eb38e899a78c241ace4360e9466d6cc037358ea84f5a58a5804","c19de540275930234bc33f0d5f2fc007f312c18d60bfe7b7288ecc73b4b00f4f","998ac471d7df52396b3cb79564d33c69509eee42a6b719a484dc901808d7388f"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: enable gitlab-backup.timer, gitlab-config-backup.timer
# host: 10-228-130-59
TIMERS=(gitlab-backup.timer gitlab-config-backup.timer)
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
# Enables and starts the backup timers; reloads systemd only when unit files changed. Idempotent.
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

# [17] firewall-10-228-130-59-install
#     after: -
#     stdin: none
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: install the OS's iptables persistence
# host: 10-228-130-59
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

# [18] firewall-10-228-130-59-rules-write
#     after: firewall-10-228-130-59-install
#     stdin: files/etc/gitlab-ha/iptables.rules (mode 0600, root:root)
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: write /etc/gitlab-ha/iptables.rules on 10-228-130-59
# host: 10-228-130-59
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

# [19] firewall-10-228-130-59-apply
#     after: firewall-10-228-130-59-rules-write
#     stdin: none
#     re-run when changed: ["c1e3f839eb2f86b4dc0806d0f6ba862ed00a14c819a360914adfd23e92c32145"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: apply chain GITLAB-HA-INPUT and persist it
# host: 10-228-130-59
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
