# Commands of local, in order (gitlab-ha offline render).

# [1] lab-image
#     after: -
#     stdin: none
bash components/lab/build-host-image.sh gitlab-ha-lab-host:3264581928dd

# [2] lab-gitlab-stand-in
#     after: lab-image
#     stdin: none
docker image inspect gitlab-ha-lab/gitlab-stand-in:17.11.7-ce.0 >/dev/null 2>&1 || docker tag gitlab-ha-lab-host:3264581928dd gitlab-ha-lab/gitlab-stand-in:17.11.7-ce.0

# [3] lab-slot-free
#     after: -
#     stdin: none
bash components/lab/scripts/slot-free.sh lab 38 gitlab-ha-lab 172.31.88.0/24 20760 20761 20762 20763 20764 20777 20778 20779

# [4] gitlab-gitlab-volume
#     after: drbd-gitlab-links, firewall-gitlab-apply, lab-gitlab-stand-in, postgres-pgsql-objects
#     stdin: none
install -d -m 0755 /var/tmp/gitlab-ha-lab/etc/gitlab /var/tmp/gitlab-ha-lab/var/opt/gitlab /var/tmp/gitlab-ha-lab/var/log/gitlab

# [5] gitlab-gitlab-config
#     after: gitlab-gitlab-volume
#     stdin: given
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: gitlab.rb at /var/tmp/gitlab-ha-lab/etc/gitlab/gitlab.rb
# host: localhost
CONFIG_PATH=/var/tmp/gitlab-ha-lab/etc/gitlab/gitlab.rb
ON_DRBD=no
MOUNT_POINT=/vdb
DRBD_DEVICE=/dev/drbd0
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
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
GITLAB_HA_SCRIPT
)"

# [6] gitlab-gitlab-reconfigure
#     after: gitlab-gitlab-config, gitlab-gitlab-container
#     stdin: none
#     re-run when changed: ["5a8be777af985c2e1ba597b368d66c533756c09dcb33956e40b2e67b254269b4"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: gitlab-ctl reconfigure in gitlab-ha-lab-gitlab-gitlab when /var/tmp/gitlab-ha-lab/etc/gitlab/gitlab.rb changed
# host: localhost
CONFIG_PATH=/var/tmp/gitlab-ha-lab/etc/gitlab/gitlab.rb
ON_DRBD=no
MOUNT_POINT=/vdb
DRBD_DEVICE=/dev/drbd0
CONFIG_SHA256=5a8be777af985c2e1ba597b368d66c533756c09dcb33956e40b2e67b254269b4
CONTAINER=gitlab-ha-lab-gitlab-gitlab
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
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
GITLAB_HA_SCRIPT
)"

# [7] gitlab-gitlab2-volume
#     after: drbd-gitlab2-links, firewall-gitlab2-apply, lab-gitlab-stand-in, postgres-pgsql-objects
#     stdin: none
install -d -m 0755 /var/tmp/gitlab-ha-lab/etc/gitlab /var/tmp/gitlab-ha-lab/var/opt/gitlab /var/tmp/gitlab-ha-lab/var/log/gitlab

# [8] gitlab-gitlab2-config
#     after: gitlab-gitlab2-volume
#     stdin: given
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: gitlab.rb at /var/tmp/gitlab-ha-lab/etc/gitlab/gitlab.rb
# host: localhost
CONFIG_PATH=/var/tmp/gitlab-ha-lab/etc/gitlab/gitlab.rb
ON_DRBD=no
MOUNT_POINT=/vdb
DRBD_DEVICE=/dev/drbd0
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
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
GITLAB_HA_SCRIPT
)"

# [9] gitlab-gitlab2-reconfigure
#     after: gitlab-gitlab2-config, gitlab-gitlab2-container
#     stdin: none
#     re-run when changed: ["5a8be777af985c2e1ba597b368d66c533756c09dcb33956e40b2e67b254269b4"]
bash -c "$(cat <<'GITLAB_HA_SCRIPT'
set -euo pipefail
# gitlab-ha: gitlab-ctl reconfigure in gitlab-ha-lab-gitlab2-gitlab when /var/tmp/gitlab-ha-lab/etc/gitlab/gitlab.rb changed
# host: localhost
CONFIG_PATH=/var/tmp/gitlab-ha-lab/etc/gitlab/gitlab.rb
ON_DRBD=no
MOUNT_POINT=/vdb
DRBD_DEVICE=/dev/drbd0
CONFIG_SHA256=5a8be777af985c2e1ba597b368d66c533756c09dcb33956e40b2e67b254269b4
CONTAINER=gitlab-ha-lab-gitlab2-gitlab
# gitlab-ha host library. Each step's script carries only the functions it calls (see
# libraryFor in ../script.ts), so editing one function re-runs only the steps that use it.
# Convention: a step prints "gitlab-ha: changed: <what>" for each change it makes and nothing
# else on stdout, so a converge that changes nothing prints nothing.
cd /  # steps run tools as other users (runuser), who may not enter the SSH user's home
changed() { printf 'gitlab-ha: changed: %s\n' "$*"; }
die() { printf 'gitlab-ha: error: %s\n' "$*" >&2; exit 1; }
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
GITLAB_HA_SCRIPT
)"
