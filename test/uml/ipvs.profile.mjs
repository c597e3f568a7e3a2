// IPVS sync profile, phase by phase (ApplyStats.detail), run inside UML (not a test):
//   node scripts/uml/run.mjs --memory 2G --timeout 900 -- 'node test/uml/ipvs.profile.mjs 30000 4 20 add'
// args: services endpoints changes [add]; env SLEEP=s waits before the changes.
// Works in a fresh netns it creates and deletes.
import { createRequire } from 'node:module';
const { createServer } = await import(createRequire(new URL('../../package.json', import.meta.url)).resolve('vite'));
const root = new URL('../..', import.meta.url).pathname;
const [N = '1000', E = '4', C = '20', EXTRA = ''] = process.argv.slice(2);
const server = await createServer({ root, logLevel: 'error', server: { middlewareMode: true, hmr: false, watch: null }, appType: 'custom' });
const { open } = await server.ssrLoadModule('/src/api/proxy.ts');
const { labServices, asSet, withLastEndpointToggled } = await server.ssrLoadModule('/src/lab/services.ts');
const { execFileSync } = await import('node:child_process');
const ns = `svp-prof-${process.pid}`;
const sh = (...a) => execFileSync(a[0], a.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] }).toString();
sh('ip', 'netns', 'add', ns);
sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
sh('ip', '-n', ns, 'link', 'add', 'b0', 'type', 'dummy');
sh('ip', '-n', ns, 'addr', 'add', '10.244.0.1/16', 'dev', 'b0');
sh('ip', '-n', ns, 'link', 'set', 'b0', 'up');
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
try {
  const proxy = await open({ mode: 'ipvs', netns: ns, iptablesBackend: 'legacy' });
  let services = labServices(Number(N), Number(E));
  const t0 = performance.now();
  const r = await proxy.apply(asSet(services));
  console.log(`full sync ${N}x${E}: wall ${(performance.now() - t0).toFixed(0)} ms kernel ${r.stats.kernelMs.toFixed(0)} ms`, JSON.stringify(r.stats.detail));
  if (process.env.SLEEP) await new Promise((r) => setTimeout(r, Number(process.env.SLEEP) * 1000));
  const wall = [], kern = [];
  for (let i = 0; i < Number(C); i++) {
    services = withLastEndpointToggled(services, i % 2 === 1);
    const c0 = performance.now();
    const u = await proxy.update({ set: [services[services.length - 1]] });
    wall.push(performance.now() - c0); kern.push(u.stats.kernelMs);
    if (i < 3 || i === Number(C) - 1) console.log(`change ${i}: wall ${wall[i].toFixed(2)} kernel ${kern[i].toFixed(2)}`, JSON.stringify(u.stats.detail));
  }
  console.log(`one change: median wall ${med(wall).toFixed(2)} ms kernel ${med(kern).toFixed(2)} ms`);
  if (EXTRA === 'add') {
    // one new service, then its removal
    const extra = labServices(Number(N) + 1, Number(E));
    const svc = { ...extra[extra.length - 1], name: 'svc-new' };
    for (let i = 0; i < 3; i++) {
      let c0 = performance.now();
      let u = await proxy.update({ set: [svc] });
      console.log(`add one: wall ${(performance.now() - c0).toFixed(2)} kernel ${u.stats.kernelMs.toFixed(2)}`, JSON.stringify(u.stats.detail));
      c0 = performance.now();
      u = await proxy.update({ remove: [{ namespace: svc.namespace, name: svc.name }] });
      console.log(`remove one: wall ${(performance.now() - c0).toFixed(2)} kernel ${u.stats.kernelMs.toFixed(2)}`, JSON.stringify(u.stats.detail));
    }
  }
  const c0 = performance.now();
  await proxy.cleanup();
  console.log(`cleanup ${(performance.now() - c0).toFixed(0)} ms`);
} finally {
  sh('ip', 'netns', 'del', ns);
  await server.close();
}
