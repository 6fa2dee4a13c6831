# One-time initialisation of a data node, safe to repeat:
#  - create-md only when the disk carries no signature at all (a disk with DRBD metadata is
#    initialised already; a disk with anything else holds data and is refused);
#  - with ACTIVATE: bring the resource up; on the initial primary only, and only on a resource
#    that never held data (see below), force it primary; format the device only when it holds
#    no file system; mount it.
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

# `primary --force` overrides quorum (drbd_nl.c drbd_set_role: SS_NO_QUORUM is retried with
# CS_FP_OUTDATE_PEERS when forced), so what this node sees now is no ground for it: an Outdated
# node in a partition also sees no UpToDate disk. It runs only on a resource that never held
# data: no marker from an earlier first primary, local metadata still as create-md wrote it
# (current UUID UUID_JUST_CREATED = 4, drbd-utils user/shared/drbdmeta.c v09_md_initialize; the
# kernel replaces it at the first promotion or sync, drbd_main.c), and every other data node
# connected and Inconsistent. Anything else with no UpToDate disk in sight is refused.
JUST_CREATED=0000000000000004
# Prints "<verdict> <why>": force, done (nothing to force), wait (connecting) or refuse.
first_primary_verdict() {
  local role uuid disk peer conn pdisk seen="" waiting="" blocking=""
  local -A peer_conn=() peer_disk=()
  role=$(drbdadm role "$RESOURCE" 2>/dev/null || echo Unknown)
  if [ "$role" = Primary ]; then echo "done $RESOURCE is Primary here"; return; fi
  # events2 --now: one line per object, key:value fields, no wrapping (drbdsetup_events2.c).
  disk=DUnknown
  while read -r kind name a b; do
    case $kind in
      local) disk=$name ;;
      peer) peer_conn[$name]=$a peer_disk[$name]=$b ;;
    esac
  done < <(drbdsetup events2 --now "$RESOURCE" 2>/dev/null | awk '
    function val(k,   i) { for (i = 3; i <= NF; i++) if (index($i, k ":") == 1) return substr($i, length(k) + 2); return "" }
    $1 == "exists" && $2 == "device" && val("volume") == "0" { print "local", val("disk") }
    $1 == "exists" && $2 == "connection" { conn[val("conn-name")] = val("connection") }
    $1 == "exists" && $2 == "peer-device" && val("volume") == "0" { pd[val("conn-name")] = val("peer-disk") }
    END { for (n in conn) print "peer", n, conn[n], (n in pd ? pd[n] : "DUnknown") }')
  if [ "$disk" = UpToDate ]; then echo "done the local disk is UpToDate"; return; fi
  for peer in "${!peer_conn[@]}"; do
    if [ "${peer_disk[$peer]}" = UpToDate ]; then echo "done $peer has an UpToDate disk"; return; fi
    seen+=" $peer:${peer_conn[$peer]}/${peer_disk[$peer]}"
  done
  uuid=$(drbdadm get-gi "$RESOURCE" 2>/dev/null | awk -F: 'NR == 1 { print $1 }')
  local facts="local disk $disk, current UUID ${uuid:-unknown}, peers${seen:- none}"
  if [ -e "$MARKER" ]; then
    echo "refuse $RESOURCE was made primary once already ($(cat "$MARKER")) and no node shows an UpToDate disk now ($facts)"
    return
  fi
  if [ "$uuid" != "$JUST_CREATED" ]; then
    echo "refuse the metadata on $DISK has held data (its current UUID is not create-md's), and no connected node shows an UpToDate disk ($facts)"
    return
  fi
  case $disk in
    Inconsistent) ;;
    Attaching | Negotiating | DUnknown | Diskless) echo "wait the local disk is $disk ($facts)"; return ;;
    *) echo "refuse the local disk is $disk, not Inconsistent ($facts)"; return ;;
  esac
  for peer in "${DATA_PEERS[@]}"; do
    conn=${peer_conn[$peer]:-unconfigured} pdisk=${peer_disk[$peer]:-DUnknown}
    if [ "$conn" != Connected ]; then
      waiting+=" $peer is $conn;"
    elif [ "$pdisk" != Inconsistent ]; then
      case $pdisk in
        Attaching | Negotiating | DUnknown | Diskless) waiting+=" $peer's disk is $pdisk;" ;;
        *) blocking+=" $peer's disk is $pdisk;" ;;
      esac
    fi
  done
  if [ -n "$blocking" ]; then echo "refuse a data node may hold data:$blocking ($facts)"; return; fi
  if [ -n "$waiting" ]; then echo "wait every data node must be connected and Inconsistent:$waiting ($facts)"; return; fi
  echo "force every data node is connected and Inconsistent, metadata fresh from create-md"
}

deadline=$((SECONDS + CONNECT_WAIT))
while :; do
  verdict=$(first_primary_verdict)
  case $verdict in
    "wait "*) [ "$SECONDS" -lt "$deadline" ] || break; sleep 2 ;;
    *) break ;;
  esac
done
case $verdict in
  force*)
    drbdadm primary --force "$RESOURCE"
    mkdir -p "$(dirname "$MARKER")"
    printf 'forced primary on %s at %s\n' "$(uname -n)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$MARKER"
    changed "forced $RESOURCE primary on its first initialisation (${verdict#force })"
    ;;
  done*) ;;
  wait*) die "not forcing $RESOURCE primary after ${CONNECT_WAIT}s: ${verdict#wait }" ;;
  *) die "refusing drbdadm primary --force $RESOURCE on $(uname -n): ${verdict#refuse }. --force overrides quorum and would make this node's data win; promote by hand only after checking every node (LINBIT user guide, manual split brain recovery)" ;;
esac
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
