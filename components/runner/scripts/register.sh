# Registers this host's runners and writes config.toml. stdin: one line per runner,
# "<name> token <glrt-...>" (authentication token, GitLab 15.10+) or "<name> registration <token>"
# (legacy flow: registered once through POST /api/v4/runners). Each runner's token is kept in a
# 0600 file under $TOKEN_DIR, so a second run registers nothing again. config.toml is the template
# with the tokens filled in, rewritten only when it differs. A runner that left the config is then
# unregistered as gitlab-runner's own `unregister` does (commands/unregister.go): a glrt- token only
# removes this host's runner manager, the runner stays in GitLab; a legacy token deletes the
# runner. Tokens never appear in argv or output.
declare -A kind token
while read -r name k t; do
  [ -n "$name" ] || continue
  kind[$name]=$k
  token[$name]=$t
done
install -d -m 0700 "$TOKEN_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

api() { # method, url, then form fields: the token as -F name=<file (curl reads the file we wrote),
  # every other field with --form-string, so a value starting with @ or < is sent as text and never
  # makes curl upload a file (curl(1), -F).
  curl --silent --show-error --fail --max-time 30 -X "$1" "$2/api/v4/runners" "${@:3}"
}

for i in "${!RUNNER_NAMES[@]}"; do
  n=${RUNNER_NAMES[$i]}
  url=${RUNNER_URLS[$i]}
  [ -n "${kind[$n]:-}" ] || die "no token on stdin for runner $n"
  printf '%s' "${token[$n]}" >"$work/given"
  case "${kind[$n]}" in
    token)
      if ! cmp -s "$work/given" "$TOKEN_DIR/$n"; then
        install -m 0600 "$work/given" "$TOKEN_DIR/$n"
        changed "runner $n: authentication token installed"
      fi
      ;;
    registration)
      if [ ! -s "$TOKEN_DIR/$n" ]; then
        api POST "$url" -F "token=<$work/given" --form-string "description=${RUNNER_DESCRIPTIONS[$i]}" \
          --form-string "tag_list=${RUNNER_TAGS[$i]}" --form-string "run_untagged=$([ -z "${RUNNER_TAGS[$i]}" ] && echo true || echo false)" >"$work/reply" ||
          die "runner $n: registration at $url failed"
        sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' "$work/reply" | tr -d '\n' >"$work/issued"
        [ -s "$work/issued" ] || die "runner $n: $url answered without a token"
        install -m 0600 "$work/issued" "$TOKEN_DIR/$n"
        changed "runner $n: registered at $url"
      fi
      ;;
    *) die "runner $n: unknown token kind '${kind[$n]}'" ;;
  esac
  printf '%s\n' "$url" >"$TOKEN_DIR/$n.url"
done

# config.toml: the template with every placeholder replaced by the runner's token file.
awk -v dir="$TOKEN_DIR" '
  match($0, /@@GITLAB_HA_TOKEN:[a-z0-9-]+@@/) {
    name = substr($0, RSTART + 18, RLENGTH - 20)
    file = dir "/" name
    if ((getline tok < file) <= 0) { print "no token file for " name > "/dev/stderr"; exit 1 }
    close(file)
    $0 = substr($0, 1, RSTART - 1) tok substr($0, RSTART + RLENGTH)
  }
  { print }' "$TEMPLATE" >"$work/config.toml"
if ! cmp -s "$work/config.toml" "$CONFIG_FILE"; then
  install -m 0600 "$work/config.toml" "$CONFIG_FILE"
  changed "$CONFIG_FILE written (runners: ${RUNNER_NAMES[*]:-none})"
fi

# Runners no longer in the config (config.toml, written above, no longer names them, so the running
# gitlab-runner stops using their tokens): unregistered at their GitLab, then forgotten.
system_id() { # gitlab-runner's own rule: a valid id is ^[sr]_[0-9a-zA-Z]{12}$ (configfile/system_id_state.go)
  local id=""
  [ -r "$SYSTEM_ID_FILE" ] && id=$(tr -d '[:space:]' <"$SYSTEM_ID_FILE")
  [[ "$id" =~ ^[sr]_[0-9a-zA-Z]{12}$ ]] && printf '%s' "$id"
  return 0
}
for f in "$TOKEN_DIR"/*; do
  [ -f "$f" ] || continue
  n=$(basename "$f")
  case "$n" in *.url) continue ;; esac
  case " ${RUNNER_NAMES[*]} " in *" $n "*) continue ;; esac
  url=$(cat "$TOKEN_DIR/$n.url")
  tok=$(cat "$f")
  case "$tok" in
    glrt-*)
      # network/gitlab.go TokenIsCreatedRunnerToken: a runner created in GitLab (glrt-) is shared by
      # every host using its token; only this host's manager goes: DELETE /api/v4/runners/managers
      # {token, system_id}, as UnregisterRunnerManager sends it. 404: GitLab has no such manager.
      sid=$(system_id)
      if [ -z "$sid" ]; then
        rm -f "$f" "$TOKEN_DIR/$n.url"
        changed "runner $n: forgotten (no runner system id in $SYSTEM_ID_FILE: this host never ran it; the runner stays in GitLab)"
        continue
      fi
      [[ "$tok" =~ ^[A-Za-z0-9._-]+$ ]] || die "runner $n: the stored token has unexpected characters"
      printf '{"token":"%s","system_id":"%s"}' "$tok" "$sid" >"$work/body"
      code=$(curl --silent --show-error --max-time 30 -X DELETE -H 'Content-Type: application/json' \
        --data-binary "@$work/body" -o /dev/null -w '%{http_code}' "$url/api/v4/runners/managers") ||
        die "runner $n: unregistering its manager $sid at $url failed"
      case "$code" in
        204) what="unregistered" ;;
        404) what="was not known" ;;
        *) die "runner $n: unregistering its manager $sid at $url answered HTTP $code" ;;
      esac
      rm -f "$f" "$TOKEN_DIR/$n.url"
      changed "runner $n: runner manager $sid $what at $url (the runner stays in GitLab)"
      ;;
    *)
      api DELETE "$url" -F "token=<$f" >/dev/null || die "runner $n: unregistering at $url failed"
      rm -f "$f" "$TOKEN_DIR/$n.url"
      changed "runner $n: unregistered at $url"
      ;;
  esac
done
