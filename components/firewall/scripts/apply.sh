# Loads $RULES_FILE with iptables and $RULES_FILE6 with ip6tables (chains $CHAIN and, on hosts
# where Docker publishes GitLab's ports, $DOCKER_CHAIN only), makes INPUT and DOCKER-USER jump to
# them first and once, and persists those chains alone for boot. Nothing differs: nothing is
# touched and nothing printed.
for f in "$RULES_FILE" "$RULES_FILE6"; do
  [ -f "$f" ] || die "$f is missing: the rules file step did not run"
done
command -v iptables-restore >/dev/null 2>&1 || die "iptables-restore is missing: the firewall install step did not run"

# IPv4 CIDR match in awk (numbers stay exact below 2^53). A bare address is a /32.
in_cidr4() {
  awk -v a="$1" -v c="$2" '
    function n(s,   p, i) {
      if (split(s, p, ".") != 4) return -1
      for (i = 1; i <= 4; i++) if (p[i] !~ /^[0-9]+$/ || p[i] + 0 > 255) return -1
      return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4]
    }
    BEGIN {
      k = split(c, x, "/"); bits = (k == 2 ? x[2] : 32)
      if (k > 2 || bits !~ /^[0-9]+$/ || bits + 0 > 32 || n(a) < 0 || n(x[1]) < 0) exit 1
      size = 2 ^ (32 - bits)
      exit !(int(n(a) / size) == int(n(x[1]) / size))
    }'
}

# IPv6 CIDR match in awk: both sides expanded to 32 hex digits, compared on the prefix's bits.
in_cidr6() {
  awk -v a="$1" -v c="$2" '
    function groups(s, g,   k, i) {
      if (s == "") return 0
      k = split(s, g, ":")
      for (i = 1; i <= k; i++) if (g[i] !~ /^[0-9a-f]+$/ || length(g[i]) > 4) return -1
      return k
    }
    function expand(s,   h, l, r, nl, nr, pad, i, out) {
      s = tolower(s)
      if (index(s, "::")) {
        if (s ~ /::.*::/) return ""
        split(s, h, "::"); nl = groups(h[1], l); nr = groups(h[2], r)
        if (nl < 0 || nr < 0 || nl + nr > 7) return ""
        pad = 8 - nl - nr
      } else {
        nl = groups(s, l); nr = 0; pad = 0
        if (nl != 8) return ""
      }
      out = ""
      for (i = 1; i <= nl; i++) out = out substr("0000", 1, 4 - length(l[i])) l[i]
      for (i = 1; i <= pad; i++) out = out "0000"
      for (i = 1; i <= nr; i++) out = out substr("0000", 1, 4 - length(r[i])) r[i]
      return out
    }
    function hex(ch) { return index("0123456789abcdef", ch) - 1 }
    BEGIN {
      k = split(c, x, "/"); bits = (k == 2 ? x[2] : 128)
      A = expand(a); C = expand(x[1])
      if (k > 2 || bits !~ /^[0-9]+$/ || bits + 0 > 128 || A == "" || C == "") exit 1
      full = int(bits / 4); rest = bits % 4
      if (substr(A, 1, full) != substr(C, 1, full)) exit 1
      if (rest == 0) exit 0
      d = 2 ^ (4 - rest)
      exit !(int(hex(substr(A, full + 1, 1)) / d) == int(hex(substr(C, full + 1, 1)) / d))
    }'
}

# Refuse to cut the session applying this. sudo drops SSH_CONNECTION from the environment, so
# look for it in the ancestors (sudo itself keeps its caller's environment).
client=${SSH_CONNECTION:-}
pid=$PPID
for _ in $(seq 1 30); do
  if [ -n "$client" ] || [ "${pid:-0}" -le 1 ]; then break; fi
  client=$({ tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | sed -n 's/^SSH_CONNECTION=//p' || true)
  pid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
done
client=${client%% *}
client=${client%%\%*}
client=${client#::ffff:}
# Both families are filtered, so a client of either is checked against the sources of its family.
if [ -n "$client" ]; then
  ok=false
  for src in "${SSH_SOURCES[@]}"; do
    if [[ $client == *:* ]]; then
      [[ $src == *:* ]] && in_cidr6 "$client" "$src" && { ok=true; break; }
    else
      [[ $src != *:* ]] && in_cidr4 "$client" "$src" && { ok=true; break; }
    fi
  done
  [ "$ok" = true ] || die "this SSH session comes from $client, outside the allowed SSH sources (${SSH_SOURCES[*]}): applying the firewall could lock it out; add it to the SSH sources"
fi

tmp=$(mktemp)
ipt=iptables
cleanup() {
  rm -f "$tmp"
  for c in "$CHAIN-NEW" "$DOCKER_CHAIN-NEW"; do
    if "$ipt" -w -n -L "$c" >/dev/null 2>&1; then "$ipt" -w -F "$c" && "$ipt" -w -X "$c"; fi
  done
}
trap cleanup EXIT

# Makes chain $2 jump to chain $3 exactly once, as its first rule: rules before it could accept
# what the chain refuses. Highest rule number deleted first, so the numbers left stay valid.
jump_first() {
  local from=$2 to=$3 jumps
  jumps=$("$ipt" -w -n -L "$from" --line-numbers | awk -v c="$to" '$2 == c { print $1 }')
  if [ "$jumps" != 1 ] || [ "$("$ipt" -w -S "$from" | grep -m 1 '^-A ' || true)" != "-A $from -j $to" ]; then
    sort -rn <<<"$jumps" | while read -r n; do [ -z "$n" ] || "$ipt" -w -D "$from" "$n"; done
    "$ipt" -w -I "$from" 1 -j "$to"
    changed "$1: $from jumps to $to first"
  fi
}

rules_of() { "$ipt" -w -S "$1" 2>/dev/null | sed -E "s/^(-[NA]) $1( |\$)/\\1 chain\\2/"; }

# apply_family <iptables|ip6tables> <rules file> <persist file>
apply_family() {
  ipt=$1
  local rules=$2 persist=$3 docker=false c
  command -v "$ipt-restore" >/dev/null 2>&1 || die "$ipt-restore is missing: the firewall install step did not run"
  if grep -q "^:$DOCKER_CHAIN " "$rules"; then docker=true; fi

  # Load the desired chains beside the live ones under other names, then compare.
  sed -E "s/^(:|-[AFN] )($CHAIN|$DOCKER_CHAIN)( |\$)/\\1\\2-NEW\\3/" "$rules" >"$tmp"
  "$ipt-restore" -w 10 --noflush <"$tmp" || die "$ipt-restore rejected $rules"
  local differ=false
  for c in "$CHAIN" "$DOCKER_CHAIN"; do
    if [ "$c" = "$CHAIN" ] || [ "$docker" = true ]; then
      [ "$(rules_of "$c")" = "$(rules_of "$c-NEW")" ] || differ=true
    fi
  done
  if [ "$differ" = true ]; then
    "$ipt-restore" -w 10 --noflush <"$rules"
    changed "$ipt: chains loaded from $rules"
  fi
  cleanup

  jump_first "$ipt" INPUT "$CHAIN"
  if [ "$docker" = true ]; then
    # moby libnetwork/firewall_linux.go (setupUserChain): the daemon creates DOCKER-USER only when
    # missing and "does not delete or modify any pre-existing rules" in it, and makes FORWARD
    # jump to it; so the chain may be made here, before Docker runs, and survives its restarts.
    if ! "$ipt" -w -n -L DOCKER-USER >/dev/null 2>&1; then
      "$ipt" -w -N DOCKER-USER
      changed "$ipt: chain DOCKER-USER created"
    fi
    jump_first "$ipt" DOCKER-USER "$DOCKER_CHAIN"
  elif "$ipt" -w -n -L "$DOCKER_CHAIN" >/dev/null 2>&1; then
    # No longer a host of published GitLab ports: the chain and its jumps go.
    while "$ipt" -w -D DOCKER-USER -j "$DOCKER_CHAIN" 2>/dev/null; do :; done
    "$ipt" -w -F "$DOCKER_CHAIN"
    "$ipt" -w -X "$DOCKER_CHAIN"
    changed "$ipt: chain $DOCKER_CHAIN removed"
  fi

  # Persist the program's own chains and jumps only, never Docker's runtime rules (its DNAT to
  # container addresses of the moment): Docker writes its own when it starts, after this file is
  # restored at boot. No counters, so the file changes only when rules do.
  local want current
  want=$(
    printf '%s\n' "# gitlab-ha: chains $CHAIN and $DOCKER_CHAIN only, restored at boot (Docker adds its own rules when it starts)." "*filter" ":$CHAIN - [0:0]"
    if [ "$docker" = true ]; then printf '%s\n' ":DOCKER-USER - [0:0]" ":$DOCKER_CHAIN - [0:0]"; fi
    "$ipt" -w -S "$CHAIN" | grep '^-A '
    if [ "$docker" = true ]; then "$ipt" -w -S "$DOCKER_CHAIN" | grep '^-A '; fi
    printf '%s\n' "-A INPUT -j $CHAIN"
    if [ "$docker" = true ]; then printf '%s\n' "-A DOCKER-USER -j $DOCKER_CHAIN"; fi
    printf '%s\n' "COMMIT"
  )
  current=$(cat "$persist" 2>/dev/null || true)
  if [ "$want" != "$current" ]; then
    local dir ptmp
    dir=$(dirname "$persist")
    if [ ! -d "$dir" ]; then
      install -d -m 0755 "$dir"
      changed "$dir created"
    fi
    ptmp=$(mktemp "$dir/.gitlab-ha.XXXXXX")
    printf '%s\n' "$want" >"$ptmp"
    chmod 0600 "$ptmp"
    mv -f "$ptmp" "$persist"
    changed "$persist written"
  fi
}

apply_family iptables "$RULES_FILE" "$PERSIST_FILE"
# A kernel without IPv6 (ipv6.disable=1) has no IPv6 traffic to filter and no ip6tables tables.
if [ -e /proc/net/if_inet6 ]; then
  apply_family ip6tables "$RULES_FILE6" "$PERSIST_FILE6"
fi
