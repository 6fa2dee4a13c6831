# Registers this host's runners and writes config.toml. stdin: one line per runner,
# "<name> token <glrt-...>" (authentication token, GitLab 15.10+) or "<name> registration <token>"
# (legacy flow). As `gitlab-runner register` does (commands/register.go verifyRunner,
# doLegacyRegisterRunner): a glrt- token is verified with POST /api/v4/runners/verify (200 with
# {id, token, token_expires_at}: network/gitlab.go VerifyRunner), a registration token registers
# once with POST /api/v4/runners (201, same body); either way the runner's entry gets id, token,
# token_obtained_at and token_expires_at. A refused token stops the step with the runner's name and
# GitLab's answer. Per runner, 0600 files under $TOKEN_DIR keep the current token ($n), its GitLab
# URL ($n.url) and $n.cred: the sha256 of the configured token that was verified or registered, and
# id/obtained/expires. gitlab-runner rotates a token before it expires and saves the new one in
# config.toml (commands/multi.go resetOneRunnerToken): that token is taken over here, and while the
# configured token stays the same it is never replaced by it. Tokens never appear in argv or output.
declare -A kind token
while read -r name k t; do
  [ -n "$name" ] || continue
  kind[$name]=$k
  token[$name]=$t
done
install -d -m 0700 "$TOKEN_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ZERO_TIME=0001-01-01T00:00:00Z # what gitlab-runner writes for an unset time (no expiry)

api() { # method, url, then form fields: the token as -F name=<file (curl reads the file we wrote),
  # every other field with --form-string, so a value starting with @ or < is sent as text and never
  # makes curl upload a file (curl(1), -F).
  curl --silent --show-error --max-time 30 -X "$1" "$2/api/v4/runners" "${@:3}"
}


system_id() { # gitlab-runner's own rule: a valid id is ^[sr]_[0-9a-zA-Z]{12}$ (configfile/system_id_state.go)
  local id=""
  [ -r "$SYSTEM_ID_FILE" ] && id=$(tr -d '[:space:]' <"$SYSTEM_ID_FILE")
  [[ "$id" =~ ^[sr]_[0-9a-zA-Z]{12}$ ]] && printf '%s' "$id"
  return 0
}

json_field() { # key, file: a JSON string or number value of a flat object; empty for null or absent
  sed -n 's/.*"'"$1"'" *: *"\{0,1\}\([^",}]*\)"\{0,1\} *[,}].*/\1/p' "$2" | head -n 1 | sed 's/^null$//'
}

answer_of() { # GitLab's message in a reply file, one line, at most 200 characters, no token in it
  local m
  m=$(json_field message "$1")
  [ -n "$m" ] || m=$(json_field error "$1")
  m=${m//"$2"/[token]}
  printf '%s' "${m:0:200}"
}

valid_time() { [[ "$1" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$ ]]; }

save_cred() { # runner, sha256 of the configured token, id, obtained, expires
  printf 'given=%s\nid=%s\nobtained=%s\nexpires=%s\n' "$2" "$3" "$4" "$5" >"$work/cred"
  install -m 0600 "$work/cred" "$TOKEN_DIR/$1.cred"
}

cred_of() { sed -n "s/^$2=//p" "$TOKEN_DIR/$1.cred" 2>/dev/null; }

host_entry() { # runner name: "token id obtained expires" of its [[runners]] entry in config.toml
  # (gitlab-runner writes the runner's own keys before its sub-tables, as this project does)
  [ -r "$CONFIG_FILE" ] || return 0
  awk -v want="$1" '
    function val(s) { sub(/^[^=]*=[ \t]*/, "", s); sub(/[ \t]+$/, "", s); gsub(/^"|"$/, "", s); return s }
    function flush() { if (inr && name == want && !done) { print tok, id, ob, ex; done = 1 } inr = 0 }
    /^[ \t]*\[\[runners\]\][ \t]*$/ { flush(); inr = 1; name = tok = id = ob = ex = ""; next }
    /^[ \t]*\[/ { flush(); next }
    inr && /^[ \t]*name[ \t]*=/ { name = val($0) }
    inr && /^[ \t]*token[ \t]*=/ { tok = val($0) }
    inr && /^[ \t]*id[ \t]*=/ { id = val($0) }
    inr && /^[ \t]*token_obtained_at[ \t]*=/ { ob = val($0) }
    inr && /^[ \t]*token_expires_at[ \t]*=/ { ex = val($0) }
    END { flush() }' "$CONFIG_FILE"
}

for i in "${!RUNNER_NAMES[@]}"; do
  n=${RUNNER_NAMES[$i]}
  url=${RUNNER_URLS[$i]}
  [ -n "${kind[$n]:-}" ] || die "runner $n: no token on stdin"
  printf '%s' "${token[$n]}" >"$work/given"
  given=$(sha256sum <"$work/given" | cut -d' ' -f1)

  # A token gitlab-runner rotated since the last run: config.toml holds it, our file the old one.
  if [ -s "$TOKEN_DIR/$n" ] && [ -s "$TOKEN_DIR/$n.cred" ]; then
    htok='' hid='' hob='' hex=''
    read -r htok hid hob hex < <(host_entry "$n") || true
    if [ -n "${htok:-}" ] && [[ "$htok" != @@* ]] && [ "$htok" != "$(cat "$TOKEN_DIR/$n")" ]; then
      if ! [[ "$htok" =~ ^[A-Za-z0-9._-]+$ && "${hid:-}" =~ ^[0-9]+$ ]] || ! valid_time "${hob:-}" || ! valid_time "${hex:-}"; then
        die "runner $n: $CONFIG_FILE holds a token or credentials this step cannot read; fix or remove its entry"
      fi
      printf '%s' "$htok" >"$work/rotated"
      install -m 0600 "$work/rotated" "$TOKEN_DIR/$n"
      save_cred "$n" "$(cred_of "$n" given)" "$hid" "$hob" "$hex"
      changed "runner $n: kept the token gitlab-runner rotated (expires $hex)"
    fi
  fi

  if [ "$(cred_of "$n" given)" = "$given" ] && [ -s "$TOKEN_DIR/$n" ]; then
    : # the configured token is the one already verified or registered: the host's current token stays
  else
    case "${kind[$n]}" in
      token)
        [[ "${token[$n]}" =~ ^[A-Za-z0-9._-]+$ ]] || die "runner $n: the token has unexpected characters"
        sid=$(system_id)
        # VerifyRunner's request: {token, system_id} and the RUNNER-TOKEN header (network/gitlab.go);
        # both from 0600 files in $work, never from argv.
        { printf '{"token":"%s"' "${token[$n]}"; [ -z "$sid" ] || printf ',"system_id":"%s"' "$sid"; printf '}'; } >"$work/body"
        printf 'RUNNER-TOKEN: %s\n' "${token[$n]}" >"$work/header"
        code=$(curl --silent --show-error --max-time 30 -X POST -H 'Content-Type: application/json' -H "@$work/header" \
          --data-binary "@$work/body" -o "$work/reply" -w '%{http_code}' "$url/api/v4/runners/verify") ||
          die "runner $n: GitLab at $url could not be reached to verify its token"
        [ "$code" = 200 ] || die "runner $n: GitLab at $url refused its token: POST /api/v4/runners/verify answered HTTP $code $(answer_of "$work/reply" "${token[$n]}")"
        id=$(json_field id "$work/reply")
        issued=$(json_field token "$work/reply")
        expires=$(json_field token_expires_at "$work/reply")
        what="verified at $url"
        ;;
      registration)
        if [ -s "$TOKEN_DIR/$n" ]; then
          # Registered before with another registration token: the runner stays registered.
          save_cred "$n" "$given" "$(cred_of "$n" id)" "$(cred_of "$n" obtained)" "$(cred_of "$n" expires)"
          printf '%s\n' "$url" >"$TOKEN_DIR/$n.url"
          continue
        fi
        code=$(api POST "$url" -F "token=<$work/given" --form-string "description=${RUNNER_DESCRIPTIONS[$i]}" \
          --form-string "tag_list=${RUNNER_TAGS[$i]}" --form-string "run_untagged=$([ -z "${RUNNER_TAGS[$i]}" ] && echo true || echo false)" \
          -o "$work/reply" -w '%{http_code}') || die "runner $n: GitLab at $url could not be reached to register it"
        # RegisterRunner expects 201 (network/gitlab.go).
        [ "$code" = 201 ] || die "runner $n: GitLab at $url refused its registration token: POST /api/v4/runners answered HTTP $code $(answer_of "$work/reply" "${token[$n]}")"
        id=$(json_field id "$work/reply")
        issued=$(json_field token "$work/reply")
        expires=$(json_field token_expires_at "$work/reply")
        [ -n "$issued" ] || die "runner $n: $url answered without a token"
        what="registered at $url"
        ;;
      *) die "runner $n: unknown token kind '${kind[$n]}'" ;;
    esac
    # commands/register.go: a reply without a runner id is a failed verification.
    [[ "$id" =~ ^[1-9][0-9]*$ ]] || die "runner $n: GitLab at $url answered without a runner id"
    [ -n "$issued" ] || issued=${token[$n]}
    [[ "$issued" =~ ^[A-Za-z0-9._-]+$ ]] || die "runner $n: GitLab at $url answered with a token of unexpected characters"
    [ -n "$expires" ] || expires=$ZERO_TIME
    valid_time "$expires" || die "runner $n: GitLab at $url answered with an unreadable token_expires_at"
    printf '%s' "$issued" >"$work/issued"
    install -m 0600 "$work/issued" "$TOKEN_DIR/$n"
    save_cred "$n" "$given" "$id" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$expires"
    changed "runner $n: $what (runner id $id, token expires $expires)"
  fi
  printf '%s\n' "$url" >"$TOKEN_DIR/$n.url"
done

# config.toml: the template with each runner's token line replaced by its credentials, as
# gitlab-runner writes them (common/config.go RunnerCredentials: id, token, token_obtained_at,
# token_expires_at; the times as TOML date-times).
awk -v dir="$TOKEN_DIR" -v zero="$ZERO_TIME" '
  match($0, /^[ \t]*token = "@@GITLAB_HA_TOKEN:[a-z0-9-]+@@"$/) {
    name = $0; sub(/^.*@@GITLAB_HA_TOKEN:/, "", name); sub(/@@"$/, "", name)
    file = dir "/" name
    if ((getline tok < file) <= 0) { print "no token file for " name > "/dev/stderr"; exit 1 }
    close(file)
    id = 0; ob = zero; ex = zero
    cred = file ".cred"
    while ((getline line < cred) > 0) {
      if (line ~ /^id=[0-9]+$/) id = substr(line, 4)
      else if (line ~ /^obtained=./) ob = substr(line, 10)
      else if (line ~ /^expires=./) ex = substr(line, 9)
    }
    close(cred)
    printf "id = %s\ntoken = \"%s\"\ntoken_obtained_at = %s\ntoken_expires_at = %s\n", id, tok, ob, ex
    next
  }
  { print }' "$TEMPLATE" >"$work/config.toml"
if ! cmp -s "$work/config.toml" "$CONFIG_FILE"; then
  install -m 0600 "$work/config.toml" "$CONFIG_FILE"
  changed "$CONFIG_FILE written (runners: ${RUNNER_NAMES[*]:-none})"
fi

# Runners no longer in the config (config.toml, written above, no longer names them, so the running
# gitlab-runner stops using their tokens): unregistered at their GitLab, then forgotten.
for f in "$TOKEN_DIR"/*; do
  [ -f "$f" ] || continue
  n=$(basename "$f")
  case "$n" in *.url | *.cred) continue ;; esac
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
        rm -f "$f" "$TOKEN_DIR/$n.url" "$TOKEN_DIR/$n.cred"
        changed "runner $n: forgotten (no runner system id in $SYSTEM_ID_FILE: this host never ran it; the runner stays in GitLab)"
        continue
      fi
      [[ "$tok" =~ ^[A-Za-z0-9._-]+$ ]] || die "runner $n: the stored token has unexpected characters"
      printf '{"token":"%s","system_id":"%s"}' "$tok" "$sid" >"$work/body"
      printf 'RUNNER-TOKEN: %s\n' "$tok" >"$work/header"
      code=$(curl --silent --show-error --max-time 30 -X DELETE -H 'Content-Type: application/json' -H "@$work/header" \
        --data-binary "@$work/body" -o /dev/null -w '%{http_code}' "$url/api/v4/runners/managers") ||
        die "runner $n: unregistering its manager $sid at $url failed"
      case "$code" in
        204) what="unregistered" ;;
        404) what="was not known" ;;
        *) die "runner $n: unregistering its manager $sid at $url answered HTTP $code" ;;
      esac
      rm -f "$f" "$TOKEN_DIR/$n.url" "$TOKEN_DIR/$n.cred"
      changed "runner $n: runner manager $sid $what at $url (the runner stays in GitLab)"
      ;;
    *)
      code=$(api DELETE "$url" -F "token=<$f" -o /dev/null -w '%{http_code}') || die "runner $n: unregistering at $url failed"
      # UnregisterRunner expects 204 (network/gitlab.go).
      [ "$code" = 204 ] || die "runner $n: unregistering at $url answered HTTP $code"
      rm -f "$f" "$TOKEN_DIR/$n.url" "$TOKEN_DIR/$n.cred"
      changed "runner $n: unregistered at $url"
      ;;
  esac
done
