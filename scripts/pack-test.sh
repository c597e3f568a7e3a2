#!/usr/bin/env bash
# The release path, end to end: `npm pack` (prepack builds dist/, the BPF
# object and the N-API prebuild), then install the tarball into an empty
# directory with a PATH that has no compiler (no cc, gcc, g++, c++, make,
# clang, python3 for node-gyp). The library must load, `svcproxy detect` run,
# and a small apply work in a closed network namespace made here and
# removed on exit, also on failure. Network: only the npm registry, for the
# tarball's own dependencies (the local npm cache is preferred).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d /tmp/svp-pack.XXXXXX)
ns="svp-pack-$$-$RANDOM"
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { echo "pack-test: $*"; }

# Pack from a copy of the sources: prepack rebuilds dist/ and prebuilds/, and
# other tests running at the same time load this checkout's dist/ and addon.
step "copy the sources, npm pack there (prepack builds dist, bpf object, prebuild)"
mkdir -p "$work/src"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$work/src"
ln -s "$PWD/node_modules" "$work/src/node_modules"
(cd "$work/src" && npm pack --pack-destination "$work" >"$work/pack.log" 2>&1) || { tail -30 "$work/pack.log"; exit 1; }
tarball=$(ls "$work"/svcproxy-*.tgz)
listing=$(tar -tzf "$tarball")
for f in package/dist/index.js package/dist/testing/index.js package/dist/bpf/sock_lb.bpf.o \
  package/prebuilds/linux-x64/svcproxy.node package/bin/svcproxy.js package/CHANGELOG.md; do
  grep -qx "$f" <<<"$listing" || { echo "pack-test: $f missing from $tarball" >&2; exit 1; }
done

# A bin dir with only what installing and running need: no compiler, no make, no python.
bin="$work/bin"
mkdir -p "$bin"
for tool in node npm npx sh bash env uname ip nft iptables iptables-save iptables-restore \
  iptables-nft iptables-nft-save iptables-nft-restore iptables-legacy iptables-legacy-save iptables-legacy-restore; do
  path=$(command -v "$tool") || { echo "pack-test: $tool not found" >&2; exit 1; }
  ln -s "$path" "$bin/$tool"
done
for cc in cc gcc g++ c++ make clang clang-14 python3 python; do
  if PATH="$bin" command -v "$cc" >/dev/null 2>&1; then echo "pack-test: $cc reachable" >&2; exit 1; fi
done

app="$work/app"
mkdir -p "$app"
echo '{"name":"svp-pack-app","version":"1.0.0","private":true,"type":"module"}' >"$app/package.json"
step "npm install the tarball with PATH=$bin"
(cd "$app" && PATH="$bin" npm install --prefer-offline --no-audit --no-fund "$tarball" >"$work/install.log" 2>&1) ||
  { tail -30 "$work/install.log"; exit 1; }
[ ! -e "$app/node_modules/svcproxy/build" ] || { echo "pack-test: install compiled the addon (build/ exists)" >&2; exit 1; }

step "the library loads, and svcproxy/testing"
(cd "$app" && PATH="$bin" node --input-type=module -e "
  const s = await import('svcproxy');
  const t = await import('svcproxy/testing');
  if (typeof s.open !== 'function' || typeof t.FakeDataplane !== 'function' || typeof t.describeConformance !== 'function') throw new Error('exports missing');
  const caps = await s.detectAll();
  if (!caps.find((c) => c.mode === 'iptables')?.usable) throw new Error('iptables not usable: ' + JSON.stringify(caps));
")

svp() { (cd "$app" && PATH="$bin" ./node_modules/.bin/svcproxy "$@"); }
step "svcproxy detect"
svp detect >/dev/null

step "apply in a closed namespace $ns"
ip netns add "$ns"
ip -n "$ns" link set lo up
cat >"$app/services.yaml" <<'YAML'
services:
  - name: web
    namespace: pack
    clusterIP: 10.96.0.10
    ports: [{port: 80, targetPort: 8080}]
    endpoints: [{address: 10.244.0.10}]
YAML
svp apply --mode iptables --netns "$ns" -f "$app/services.yaml" --quiet
svp status --mode iptables --netns "$ns" --json | node -e "
  const s = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  if (s.modes[0].services.length !== 1) { console.error('pack-test: status after apply:', JSON.stringify(s)); process.exit(1); }
"
ip netns exec "$ns" iptables-save -t nat | grep -q 10.96.0.10 || { echo "pack-test: VIP not in the namespace's nat table" >&2; exit 1; }
svp cleanup --mode iptables --netns "$ns" --quiet
step "ok"
