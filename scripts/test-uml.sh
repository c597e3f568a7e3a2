#!/usr/bin/env bash
# The `uml` vitest project (IPVS, iptables-legacy suites). Runs directly when
# this kernel has IPVS, else inside User-Mode Linux (src/sandbox/uml.ts).
# Exits non-zero on any failure, including a guest that fails to boot.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .svcproxy-tmp
cmd='CI=1 NO_COLOR=1 npx vitest run --project uml --reporter=default --reporter=json --outputFile.json=.svcproxy-tmp/uml-results.json'
if [ -e /proc/net/ip_vs ]; then
  echo "[test-uml] host kernel has IPVS: running the uml project here"
  exec bash -c "$cmd"
fi
echo "[test-uml] host kernel has no IPVS: booting User-Mode Linux"
exec node scripts/uml/run.mjs --memory 2G --timeout 900 -- "$cmd"
