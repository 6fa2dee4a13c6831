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
