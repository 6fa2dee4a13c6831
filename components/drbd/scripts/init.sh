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
