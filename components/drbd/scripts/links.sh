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
