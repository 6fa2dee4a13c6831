# The host directories the GitLab container bind-mounts (/etc/gitlab, /var/opt/gitlab,
# /var/log/gitlab under $VOLUME_ROOT). Bind mounts of type "bind" fail when the source is missing
# (Docker refuses to create or start the container; `-v` would have created an empty directory:
# a blank GitLab with fresh secrets against the production database).
# On a DRBD node: where the volume is mounted (the DRBD device on $MOUNT_POINT) the directories are
# made on it; elsewhere each path gets a placeholder FILE on the root file system below the
# unmounted mount point: Docker can create the container (it only checks that the source exists),
# but can never start it there (a file cannot be bound onto the image's directory), and a later
# mount of the volume hides the placeholders. A directory found there instead is refused: data
# below the mount point, not on the volume.
placeholder="gitlab-ha: the DRBD volume is not mounted on this node; GitLab cannot start here"
if [ "$ON_DRBD" = yes ]; then
  case "$VOLUME_ROOT/" in "$MOUNT_POINT"/*) ;; *) die "$VOLUME_ROOT is not on the DRBD volume $MOUNT_POINT" ;; esac
  if [ "$(findmnt -rn -o SOURCE --mountpoint "$MOUNT_POINT" 2>/dev/null || true)" != "$DRBD_DEVICE" ]; then
    for d in "${DIRS[@]}"; do
      p="$VOLUME_ROOT$d"
      if [ -d "$p" ] && [ ! -L "$p" ]; then
        die "$p is a directory on the root file system while $DRBD_DEVICE is not mounted on $MOUNT_POINT: refusing (GitLab's data belongs on the volume; move or remove it by hand)"
      fi
      if [ "$(cat "$p" 2>/dev/null || true)" != "$placeholder" ]; then
        if [ -e "$p" ] || [ -L "$p" ]; then die "$p exists and is not the placeholder of an unmounted volume: refusing"; fi
        mkdir -p "$(dirname "$p")"
        printf '%s\n' "$placeholder" >"$p"
        changed "placeholder $p (volume not mounted here: the GitLab container cannot start)"
      fi
    done
    exit 0
  fi
fi
for d in "${DIRS[@]}"; do
  p="$VOLUME_ROOT$d"
  [ -d "$p" ] && continue
  [ ! -e "$p" ] || die "$p exists and is not a directory"
  install -d -m 0755 "$p"
  changed "created $p"
done
