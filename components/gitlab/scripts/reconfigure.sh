# Applies the gitlab.rb that config.sh wrote with `gitlab-ctl reconfigure` inside the running
# container: no replacement, no 300 s stop. Nothing to do where GitLab does not run (a DRBD node
# without the volume, a stopped or missing container): the image's start runs reconfigure itself
# (omnibus-gitlab docker/assets/wrapper), so a container started after the file was written
# already has it. Only a container started before the current file gets the reconfigure, once:
# the marker beside gitlab.rb records the content last applied.
if [ "$ON_DRBD" = yes ] && [ "$(findmnt -rn -o SOURCE --mountpoint "$MOUNT_POINT" 2>/dev/null || true)" != "$DRBD_DEVICE" ]; then
  exit 0
fi
[ -f "$CONFIG_PATH" ] || die "$CONFIG_PATH is missing: the config step did not run"
sum=$(sha256sum "$CONFIG_PATH" | cut -d' ' -f1)
[ "$sum" = "$CONFIG_SHA256" ] || die "$CONFIG_PATH is not the gitlab.rb of this converge (sha256 $sum, expected $CONFIG_SHA256): was it edited by hand?"
marker="$(dirname "$CONFIG_PATH")/.gitlab-ha-reconfigured"
[ "$(cat "$marker" 2>/dev/null || true)" != "$sum" ] || exit 0
state=$(docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' "$CONTAINER" 2>/dev/null || true)
[ "${state%% *}" = true ] || exit 0
started=$(date -d "${state#* }" +%s) || die "cannot read the start time of $CONTAINER: ${state#* }"
if [ "$started" -le "$(stat -c %Y "$CONFIG_PATH")" ]; then
  docker exec "$CONTAINER" gitlab-ctl reconfigure >&2 || die "gitlab-ctl reconfigure failed in $CONTAINER (its output is above; /var/log/gitlab/reconfigure in the container)"
  changed "$CONTAINER reconfigured with $CONFIG_PATH"
fi
printf '%s\n' "$sum" >"$marker"
