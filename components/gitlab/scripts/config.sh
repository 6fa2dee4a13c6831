# Writes gitlab.rb (stdin) to $CONFIG_PATH, /etc/gitlab/gitlab.rb of the container on the volume,
# 0600 as Omnibus keeps it, atomically and only when it differs. It is a file, not the
# container's GITLAB_OMNIBUS_CONFIG: a change is applied by reconfigure.sh in the running
# container instead of replacing it. It must exist before the container first starts: the image
# copies its template otherwise (omnibus-gitlab docker/assets/wrapper, "Copy gitlab.rb for the
# first time"). On a DRBD node it is written only where the volume is mounted: elsewhere
# $CONFIG_PATH's directory is a placeholder below the unmounted mount point, and the node holding
# the volume writes the one file both nodes share.
if [ "$ON_DRBD" = yes ] && [ "$(findmnt -rn -o SOURCE --mountpoint "$MOUNT_POINT" 2>/dev/null || true)" != "$DRBD_DEVICE" ]; then
  exit 0
fi
dir=$(dirname "$CONFIG_PATH")
[ -d "$dir" ] || die "$dir does not exist: the volume step did not run"
tmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
# Owned by the step's user (mktemp): root on the hosts.
if [ -f "$CONFIG_PATH" ] && cmp -s "$tmp" "$CONFIG_PATH" && [ "$(stat -c '%a %u %g' "$CONFIG_PATH")" = "600 $(id -u) $(id -g)" ]; then
  exit 0
fi
chmod 0600 "$tmp"
mv -f "$tmp" "$CONFIG_PATH"
changed "$CONFIG_PATH written"
