#!/bin/sh
# PID 1 inside the User-Mode Linux kernel started by src/sandbox/uml.ts.
# The root filesystem is the host's own, over hostfs, read-write: tmpfs goes
# on /run and /tmp FIRST so nothing created inside (ip netns add, sockets,
# temp files) lands in the host's /run or /tmp.
# SVP_RUN (from the kernel command line) is a host directory outside /tmp
# holding: modules (one .ko path per line, dependency order), env (sourced),
# cmd (the shell command), and receives: status (exit code of cmd).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=755 tmpfs /run
# The work directory may live under the host's /tmp (a CI clone): bind it
# back into the guest's fresh /tmp so it stays reachable at the same path.
cwd=$(cat "$SVP_RUN/cwd" 2>/dev/null)
case "$cwd" in
  /tmp/*) mkdir -p /run/host-tmp && mount --bind /tmp /run/host-tmp ;;
  *) cwd= ;;
esac
mount -t tmpfs -o mode=1777 tmpfs /tmp
if [ -n "$cwd" ]; then
  mkdir -p "$cwd" && mount --bind "/run/host-tmp/${cwd#/tmp/}" "$cwd"
  umount -l /run/host-tmp 2>/dev/null
fi
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mount -t tmpfs tmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
[ -e /dev/null ] || mknod -m 666 /dev/null c 1 3
# A bare tmpfs /dev lacks these; iptables and iperf3 read /dev/urandom.
[ -e /dev/zero ] || mknod -m 666 /dev/zero c 1 5
[ -e /dev/random ] || mknod -m 444 /dev/random c 1 8
[ -e /dev/urandom ] || mknod -m 444 /dev/urandom c 1 9
[ -d /sys/fs/cgroup ] && mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null

fail() { echo "uml-init: $*"; echo 125 > "$SVP_RUN/status"; poweroff -f; }
[ -n "$SVP_RUN" ] && [ -d "$SVP_RUN" ] || { echo "uml-init: SVP_RUN not set"; poweroff -f; }

# insmod from kmod when the host has it, else finit_module(2) through perl
# (syscall 313 on x86_64; UML guests use the host's syscall numbers).
load_module() {
  if command -v insmod >/dev/null; then insmod "$1"
  else perl -e 'open(my $f, "<", $ARGV[0]) or die "$ARGV[0]: $!\n"; my $p = ""; syscall(313, fileno($f), $p, 0) == 0 or die "$!\n"' "$1"
  fi
}

# Modules come from the host over a second hostfs mount.
mkdir -p /run/uml-modules
mount -t hostfs -o /usr/lib/uml/modules none /run/uml-modules || fail "cannot mount modules"
while read -r ko; do
  [ -n "$ko" ] || continue
  load_module "/run/uml-modules/$ko" 2>/run/insmod.err || {
    grep -q 'File exists' /run/insmod.err || fail "insmod $ko: $(cat /run/insmod.err)"
  }
done < "$SVP_RUN/modules"

ip link set lo up
hostname svcproxy-uml
. "$SVP_RUN/env"
echo "uml-init: ready ($(uname -r), $(wc -l < "$SVP_RUN/modules") modules)"
sh "$SVP_RUN/cmd" </dev/null
echo $? > "$SVP_RUN/status"
sync
poweroff -f
