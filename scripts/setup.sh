#!/usr/bin/env bash
# Installs and builds everything svcproxy needs on Debian 12, as root.
# Quick when all is already there: apt only for missing packages, npm ci only
# when package-lock.json changed, builds are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root (svcproxy programs the kernel: apt, netns, iptables)" >&2
  exit 1
fi

PKGS=(iptables nftables ipvsadm iproute2 conntrack kmod util-linux
      libmnl-dev libnftables-dev libnftnl-dev libbpf-dev linux-libc-dev pkg-config
      clang-14 llvm-14 bpftool iperf3 user-mode-linux g++ make python3)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: svcproxy needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.svcproxy-lock 2>/dev/null)" != "$lock_hash" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
  echo "$lock_hash" > node_modules/.svcproxy-lock
fi

# Native addon: rebuild only when a native source or binding.gyp is newer.
addon=build/Release/svcproxy.node
if [ ! -f "$addon" ] || [ -n "$(find native binding.gyp -newer "$addon" -print -quit)" ]; then
  echo "setup: building the native addon"
  npx node-gyp rebuild >/dev/null
fi
make -s -C bpf
[ -f tools/Makefile ] && make -s -C tools
npx tsc -p tsconfig.json
npx tsc -p tsconfig.test.json   # tests and benches type-check too
echo "setup: ready"
