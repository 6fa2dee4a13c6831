# Keeps the failover sentinel enabled and running, and GitLab out of the boot sequence: only the
# sentinel starts GitLab (runbook section 5: gitlab-runsvdir disabled, After=git_sentinel.service).
# GitLab is never stopped here: on the active node it is the sentinel's to run. The unit files
# (the sentinel's unit, GitLab's drop-ins) are written by an earlier step; the sentinel's binary is
# the operators' own and must already be in place.
unit_missing() { [ "$(systemctl show -p LoadState --value "$1")" = not-found ]; }

reload_units_if_changed "$SENTINEL_UNIT" "$GITLAB_UNIT"

unit_missing "$SENTINEL_UNIT" && die "$SENTINEL_UNIT is not installed: the unit file step did not run"
# Checked before enabling or starting: without the binary the unit would only loop on restarts
# (Restart=always) and fail on every boot.
if [ ! -f "$SENTINEL_EXEC" ] || [ ! -x "$SENTINEL_EXEC" ]; then
  die "the sentinel binary $SENTINEL_EXEC is missing or not executable on $(uname -n): install the operators' git_sentinel there (failover.sentinel.execStart) before $SENTINEL_UNIT can be enabled and started"
fi
state=$(systemctl is-enabled "$SENTINEL_UNIT" 2>/dev/null || true)
case "$state" in
  enabled) ;;
  masked | masked-runtime) die "$SENTINEL_UNIT is masked; unmask it deliberately (systemctl unmask $SENTINEL_UNIT)" ;;
  *)
    systemctl enable --quiet "$SENTINEL_UNIT"
    changed "enabled $SENTINEL_UNIT"
    ;;
esac
if ! systemctl is-active --quiet "$SENTINEL_UNIT"; then
  systemctl start "$SENTINEL_UNIT"
  changed "started $SENTINEL_UNIT"
fi

# GitLab may be installed later: then there is nothing to disable yet.
if ! unit_missing "$GITLAB_UNIT"; then
  case "$(systemctl is-enabled "$GITLAB_UNIT" 2>/dev/null || true)" in
    enabled)
      systemctl disable --quiet "$GITLAB_UNIT"
      changed "disabled $GITLAB_UNIT at boot (the sentinel starts it)"
      ;;
    enabled-runtime)
      systemctl disable --quiet --runtime "$GITLAB_UNIT"
      changed "disabled $GITLAB_UNIT at boot (runtime enablement; the sentinel starts it)"
      ;;
  esac
fi
