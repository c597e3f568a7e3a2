#!/usr/bin/env bash
# The main job: set-up, then the lab - every usable mode measured side by
# side in a closed sandbox on this kernel (IPVS inside User-Mode Linux when
# this kernel lacks it), with a console table, results.json and report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/svcproxy.js lab "$@"
