#!/usr/bin/env bash
# Before a lab stack creates its network: refuses, with a clear message, when another lab stack
# (or anything else on the engine) already holds its subnet or one of its published ports. Docker
# itself would only say "Pool overlaps with other one on this address space" (moby
# libnetwork/ipamapi/contract.go ErrPoolOverlap) or "port is already allocated" (libnetwork
# portallocator), naming neither the other stack nor the way out.
# Usage: OWN_CONTAINERS="<the stack's container names>" slot-free.sh <stack> <slot> <network name> <subnet> <port>...
set -euo pipefail
stack=$1 slot=$2 name=$3 subnet=$4
shift 4
own=" ${OWN_CONTAINERS:-} "

ip2int() { local IFS=.; read -r a b c d <<<"$1"; echo $(((a << 24) + (b << 16) + (c << 8) + d)); }
# range <cidr>: first and last address as integers (IPv4 only; other families never overlap ours).
range() {
  local addr=${1%/*} bits=${1#*/}
  [[ $addr =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ && $bits =~ ^[0-9]+$ ]] || return 1
  local size=$((1 << (32 - bits))) n
  n=$(ip2int "$addr")
  n=$((n - n % size))
  echo "$n $((n + size - 1))"
}
hint="two lab stacks share slot $slot: give stack '$stack' a free slot (0-199) with lab.slot in Pulumi.$stack.yaml (pulumi config set --path lab.slot <n>)"

read -r lo hi < <(range "$subnet")
problems=()
while read -r other subnets; do
  if [ -z "$other" ] || [ "$other" = "$name" ]; then continue; fi
  for s in $subnets; do
    r=$(range "$s") || continue
    read -r olo ohi <<<"$r"
    if ((olo <= hi && lo <= ohi)); then
      problems+=("subnet $subnet overlaps network '$other' ($s)")
    fi
  done
done < <(docker network ls -q | xargs -r docker network inspect --format '{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{end}}')

# A Go template of docker inspect; every host port a container publishes (created ones too).
# shellcheck disable=SC2016
bindings='{{.Name}} {{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{.HostPort}} {{end}}{{end}}'
while read -r other ports; do
  other=${other#/}
  if [ -z "$other" ] || [[ $own == *" $other "* ]]; then continue; fi
  for p in $ports; do
    for want in "$@"; do
      [ "$p" = "$want" ] && problems+=("port $p is already published by container '$other'")
    done
  done
done < <(docker ps -aq | xargs -r docker inspect --format "$bindings")

if ((${#problems[@]})); then
  printf 'gitlab-ha: lab stack %s clashes with what is on the Docker engine:\n' "$stack" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  printf '%s\n' "$hint" >&2
  exit 1
fi
