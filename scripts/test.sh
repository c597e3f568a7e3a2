#!/usr/bin/env bash
# The whole test suite (README's test command): set-up, unit tests, the
# privileged suites on this kernel, then the IPVS / iptables-legacy suites
# on a kernel with IPVS (this one if it has it, else User-Mode Linux).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

before=$(ip netns list | awk '{print $1}' | sort)
status=0
mkdir -p .svcproxy-tmp
npx vitest run --project unit --project priv --reporter=default --reporter=json \
  --outputFile.json=.svcproxy-tmp/host-results.json || status=$?

if [ -f scripts/test-uml.sh ]; then
  bash scripts/test-uml.sh || status=$?
fi

# Every test cleans up after itself: a namespace left behind is a failure.
after=$(ip netns list | awk '{print $1}' | sort)
left=$(comm -13 <(echo "$before") <(echo "$after") | grep '^svp-' || true)
if [ -n "$left" ]; then
  echo "test: namespaces left behind: $left" >&2
  status=1
fi

node scripts/summary.mjs .svcproxy-tmp/host-results.json .svcproxy-tmp/uml-results.json || status=1
exit $status
