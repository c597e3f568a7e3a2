#!/usr/bin/env bash
# The main job: set-up, then the demo (a closed sandbox, Services in
# iptables mode, real traffic, which backend answered each connection).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/svcproxy.js demo "$@"
