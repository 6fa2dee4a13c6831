# Keeps the diskless tiebreaker's vote: its unit (written by an earlier step) enabled at boot and,
# with ACTIVATE, started now (it loads the module and brings the resource up). Without ACTIVATE
# (lab hosts: no kernel module) the unit is only enabled.
unit_missing() { [ "$(systemctl show -p LoadState --value "$UNIT")" = not-found ]; }

if [ "$(systemctl show -p NeedDaemonReload --value "$UNIT")" = yes ]; then
  systemctl daemon-reload
  changed "systemd reloaded units for $UNIT"
fi
unit_missing && die "$UNIT is not installed: the unit file step did not run"
case "$(systemctl is-enabled "$UNIT" 2>/dev/null || true)" in
  enabled) ;;
  masked | masked-runtime) die "$UNIT is masked: this node's quorum vote would be lost at the next boot; unmask it deliberately (systemctl unmask $UNIT)" ;;
  *)
    systemctl enable --quiet "$UNIT"
    changed "enabled $UNIT at boot"
    ;;
esac

[ "$ACTIVATE" = true ] || exit 0
if ! systemctl is-active --quiet "$UNIT"; then
  systemctl start "$UNIT" || die "$UNIT failed to bring $RESOURCE up (journalctl -u $UNIT)"
  changed "started $UNIT: drbd module loaded, $RESOURCE up diskless"
elif ! drbdadm status "$RESOURCE" >/dev/null 2>&1; then
  # The unit ran, but the resource was taken down by hand since.
  systemctl restart "$UNIT" || die "$UNIT failed to bring $RESOURCE up (journalctl -u $UNIT)"
  changed "restarted $UNIT: $RESOURCE was down"
fi
