#!/usr/bin/env bash
# Builds the lab host image: a Debian bookworm root file system that boots systemd as PID 1 with
# sshd, PostgreSQL 15 (no cluster: the program creates it), iptables and drbd-utils.
# No registry image can be pulled on lab machines, so the image is made with debootstrap from
# Debian's archive and `docker import`ed. Usage: build-host-image.sh <image:tag>
# Idempotent: exits at once when the tag exists. The tag carries a hash of this file, so changing
# the recipe builds a new image and the lab containers are replaced.
set -euo pipefail

tag=${1:?usage: build-host-image.sh <image:tag>}
mirror=${GITLAB_HA_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$tag" >/dev/null 2>&1; then
  exit 0
fi
command -v debootstrap >/dev/null || { echo "build-host-image: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/gitlab-ha-image.XXXXXX)
cleanup() { umount -R "$work/rootfs/proc" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "build-host-image: debootstrap bookworm into $work/rootfs"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,openssh-server,sudo,procps,iproute2,iputils-ping,iptables,drbd-utils,kmod,ca-certificates,less,psmisc,util-linux,e2fsprogs,netcat-openbsd \
  bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

# PostgreSQL is preinstalled only because lab hosts cannot reach a package mirror quickly enough
# for the converge target; the program's install step still runs and finds it installed. As on a
# real host converged by the program, Debian must not create a default cluster.
mkdir -p "$work/rootfs/etc/postgresql-common"
printf 'create_main_cluster = false\n' >"$work/rootfs/etc/postgresql-common/createcluster.conf"
cp /etc/resolv.conf "$work/rootfs/etc/resolv.conf"
# iptables-persistent likewise: the firewall step installs it when missing.
chroot "$work/rootfs" /bin/sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15 postgresql-client-15 iptables-persistent >/dev/null && apt-get clean && rm -f /etc/iptables/rules.v4 /etc/iptables/rules.v6'

# sshd: key-only root login; keys are installed per container at creation.
mkdir -p "$work/rootfs/root/.ssh"
chmod 700 "$work/rootfs/root/.ssh"
cat >"$work/rootfs/etc/ssh/sshd_config.d/lab.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
EOF
# Units that make no sense or hang in a container.
for unit in systemd-udevd.service systemd-udev-trigger.service systemd-remount-fs.service \
  getty@tty1.service console-getty.service systemd-logind.service; do
  ln -sf /dev/null "$work/rootfs/etc/systemd/system/$unit"
done
rm -f "$work/rootfs/etc/ssh/ssh_host_"*  # regenerated per container (ssh.service runs ssh-keygen -A)
mkdir -p "$work/rootfs/etc/systemd/system/ssh.service.d"
printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' >"$work/rootfs/etc/systemd/system/ssh.service.d/lab-hostkeys.conf"
: >"$work/rootfs/etc/machine-id"
rm -f "$work/rootfs/etc/resolv.conf"

echo "build-host-image: importing $tag"
tar -C "$work/rootfs" -c . | docker import \
  --change 'CMD ["/sbin/init"]' --change 'ENV container=docker' \
  - "$tag" >/dev/null
echo "build-host-image: built $tag"
