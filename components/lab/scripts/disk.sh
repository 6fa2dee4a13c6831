# LAB STAND-IN DISK: lab containers have no spare block device, so the configured DRBD disk path
# becomes a link to a sparse file. DRBD cannot attach it (no kernel module either), but the
# program's metadata and data guards run against it as against a real disk.
img="/var/lib/gitlab-ha-lab/disks/$(basename "$DISK").img"
if [ ! -e "$img" ]; then
  mkdir -p "$(dirname "$img")"
  truncate -s "${SIZE_MB}M" "$img"
  changed "lab stand-in disk $img (${SIZE_MB} MB, sparse)"
fi
if [ ! -e "$DISK" ]; then
  ln -s "$img" "$DISK"
  changed "$DISK -> $img (lab stand-in)"
fi
