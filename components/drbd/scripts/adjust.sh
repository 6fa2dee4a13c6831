# Brings changes of /etc/drbd.d (the resource file, global_common.conf) to the running resource
# with `drbdadm adjust`, after reading its plan: `-d` prints every drbdsetup call adjust would make
# (drbd-utils user/shared/shared_main.c, dry_run), and adjust plans `detach`/`del-minor` when a
# disk or volume changes (user/v9/drbdadm_adjust.c adjust_disk). Such a plan, or a `down`, is
# refused while the resource is in use here (Primary or its device open): that would pull the
# disk from under GitLab. A resource that is down is left down; it comes up with the new files.
[ "$ACTIVATE" = true ] || exit 0
drbdadm status "$RESOURCE" >/dev/null 2>&1 || exit 0
plan=$(drbdadm -d adjust "$RESOURCE") || die "drbdadm -d adjust $RESOURCE failed: the configuration in /etc/drbd.d cannot be applied"
[ -n "$plan" ] || exit 0
# Plan lines name drbdsetup (as a path when drbdadm was given one), then the call.
disruptive=$(awk '$1 ~ /(^|\/)drbdsetup$/ && ($2 == "down" || $2 == "detach" || $2 == "del-minor") { sub(/^[^ ]*\//, ""); print }' <<<"$plan")
if [ -n "$disruptive" ]; then
  role=$(drbdadm role "$RESOURCE" 2>/dev/null || echo Unknown)
  open=$(drbdsetup events2 --now "$RESOURCE" 2>/dev/null | awk '$1 == "exists" && $2 == "device" { for (i = 3; i <= NF; i++) if ($i == "open:yes") o = "yes" } END { print o == "yes" ? "yes" : "no" }')
  if [ "$role" = Primary ] || [ "$open" = yes ]; then
    die "refusing drbdadm adjust $RESOURCE on $(uname -n): it is in use here (role $role, device open: $open) and the new configuration would run: $(paste -sd ';' <<<"$disruptive" | sed 's/;/; /g'). Move GitLab to another node (or stop it) and run pulumi up again, or apply the change by hand"
  fi
fi
drbdadm adjust "$RESOURCE" || die "drbdadm adjust $RESOURCE failed"
changed "adjusted DRBD resource $RESOURCE: $(awk '{ sub(/^[^ ]*\//, ""); print }' <<<"$plan" | paste -sd ';' | sed 's/;/; /g')"
