#!/usr/bin/env bash
# npm run bench: the full lab series (1, 1k, 10k, 30k services x 4 endpoints,
# every usable mode; IPVS inside User-Mode Linux when the host lacks it) in a
# closed netns sandbox, then BENCHMARKS.md rewritten from its results.
# Extra arguments go to `svcproxy lab` (e.g. --modes iptables,nftables).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "bench: needs root (it creates network namespaces and a cgroup of its own)" >&2
  exit 1
fi
if [ ! -f dist/cli/main.js ]; then
  echo "bench: dist/ is missing: run npm run build first" >&2
  exit 1
fi
# bench:agent: `scripts/bench.sh agent [--services N --events N --mode nftables|bpf --json]` runs only
# the node agent at scale (bench/agent-scale.ts; figures printed, BENCHMARKS.md untouched)
if [ "${1:-}" = agent ]; then
  shift
  exec node --import ./bench/bpf-ts-loader.mjs bench/agent-scale.ts "$@"
fi
make -s -C tools

out="${BENCH_OUT:-lab-out/bench}"
# iptables-legacy for the iptables baseline: iptables-nft-restore is
# super-linear with kube-proxy's chain-per-endpoint layout on this kind of
# host (10k services did not load within the 120 s deadline), legacy loads
# 30k in ~20 s; the rule walk per new connection is O(n) in both.
node bin/svcproxy.js lab \
  --services 1,1000,10000,30000 \
  --endpoints 4 \
  --iptables legacy \
  --out "$out" \
  --markdown BENCHMARKS.md \
  "$@"
echo "bench: BENCHMARKS.md rewritten from $out/results.json"
