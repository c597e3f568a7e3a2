/**
 * The node agent at scale (issue 12, Performance), not a test:
 * 30,000 Services x 4 endpoints served by the API-server stand-in
 * (test/support/apiserver.ts, in its own process), the agent pipeline
 * (watch -> tracker -> runner -> sync -> ServiceProxy) programming nftables
 * (or bpf) inside a closed sandbox namespace this script creates and removes.
 *   first full sync from the watch (start to first sync done), split into
 *     list/decode, tracker, kernel read-back, plan, kernel apply;
 *   network programming latency of N one-endpoint modifications pushed one at
 *     a time through the watch: from the event's arrival at the agent (the
 *     tracker is handed the object) to the kernel call's completion, and end
 *     to end from the stand-in's write;
 *   the agent process's RSS and heapUsed after the first sync.
 * The agent runs in a child process from the compiled dist/ (bench/agent-pipeline.ts),
 * so the TypeScript loader this launcher needs is not in its RSS.
 * Usage (root, after npx tsc -p tsconfig.json):
 *   node --import ./bench/bpf-ts-loader.mjs bench/agent-scale.ts
 *     [--services 30000] [--endpoints 4] [--events 200] [--mode nftables|bpf]
 *     [--min-sync-period-ms 0] [--json]
 *   SVP_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=lab-out/prof" profiles the agent process.
 */
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { mountPrivateBpffs, TestCgroup } from '../src/sandbox/cgroup.js';
import { Topology } from '../src/sandbox/topology.js';
import type { PipelineInput } from './agent-pipeline.js';

const { values: args } = parseArgs({
  options: {
    services: { type: 'string', default: '30000' },
    endpoints: { type: 'string', default: '4' },
    events: { type: 'string', default: '200' },
    mode: { type: 'string', default: 'nftables' },
    'min-sync-period-ms': { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
});
if (args.mode !== 'nftables' && args.mode !== 'bpf') throw new Error(`--mode: nftables or bpf, got ${args.mode}`);

const root = fileURLToPath(new URL('..', import.meta.url));
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

/** bench/agent-pipeline.ts as plain JS whose ../src/ imports are the compiled dist/ (in .svcproxy-tmp/, so node_modules resolve). */
function compilePipeline(): string {
  const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
  const src = readFileSync(here('./agent-pipeline.ts'), 'utf8');
  const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  const dist = pathToFileURL(join(root, 'dist')).href;
  const out = join(root, '.svcproxy-tmp', `agent-pipeline-${process.pid}.mjs`);
  mkdirSync(join(root, '.svcproxy-tmp'), { recursive: true });
  writeFileSync(out, js.replaceAll("from '../src/", `from '${dist}/`));
  return out;
}

type Result = Record<string, unknown> & {
  firstSync: Record<string, number>;
  memory: Record<string, number>;
  latency: { events: number } & Record<'arrivalToKernelMs' | 'writeToKernelMs' | 'kernelCallMs', { p50: number; p99: number; max: number }>;
};

function runPipeline(file: string, input: PipelineInput): Promise<Result> {
  const extra = (process.env.SVP_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = fork(file, [JSON.stringify(input)], { execArgv: ['--expose-gc', ...extra], stdio: 'inherit' });
  let result: Result | undefined;
  child.on('message', (m: { result: Result }) => (result = m.result));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (result && code === 0 ? resolve(result) : reject(new Error(`agent process failed (${code})`)))),
  );
}

function printTable(input: PipelineInput, r: Result): void {
  const f = r.firstSync;
  const l = r.latency;
  const m = r.memory;
  const rows: [string, string, string][] = [
    [`first full sync (${input.services} x ${input.endpoints}, ${input.mode})`, `${f.totalMs} ms`, '<= 3000 ms'],
    ['  list + decode (client-node)', `${f.listAndDecodeMs} ms`, ''],
    ['  tracker: objects in', `${f.trackerInMs} ms`, ''],
    ['  tracker: build Services', `${f.trackerBuildMs} ms`, ''],
    ['  kernel read-back', `${f.readBackMs} ms`, ''],
    ['  plan (flatten, diff) + rest', `${f.planMs} ms`, ''],
    ['  kernel apply', `${f.kernelMs} ms`, ''],
    [`one endpoint, arrival -> kernel p50 (N=${l.events})`, `${l.arrivalToKernelMs.p50} ms`, '<= 5 ms'],
    ['one endpoint, arrival -> kernel p99', `${l.arrivalToKernelMs.p99} ms`, '<= 20 ms'],
    ['one endpoint, stand-in write -> kernel p50 / p99', `${l.writeToKernelMs.p50} / ${l.writeToKernelMs.p99} ms`, ''],
    ['one endpoint, kernel call p50 / p99', `${l.kernelCallMs.p50} / ${l.kernelCallMs.p99} ms`, ''],
    ['agent RSS after first sync', `${m.rssMiB} MiB`, '<= 200 MiB'],
    ['agent heapUsed after first sync', `${m.heapUsedMiB} MiB`, ''],
    ['  after gc(): RSS / heapUsed', `${m.rssAfterGcMiB} / ${m.heapUsedAfterGcMiB} MiB`, ''],
  ];
  const w = Math.max(...rows.map((x) => x[0].length));
  for (const [k, v, t] of rows) console.log(`${k.padEnd(w)}  ${v.padStart(16)}  ${t}`);
}

const topo = await Topology.create({ backends: 0, servers: false });
let cgroup: TestCgroup | undefined;
let bpffs: Awaited<ReturnType<typeof mountPrivateBpffs>> | undefined;
let file: string | undefined;
try {
  if (args.mode === 'bpf') {
    cgroup = TestCgroup.create('svp-agent-bench');
    bpffs = await mountPrivateBpffs();
  }
  file = compilePipeline();
  const input: PipelineInput = {
    services: Number(args.services),
    endpoints: Number(args.endpoints),
    events: Number(args.events),
    mode: args.mode,
    minSyncPeriodMs: Number(args['min-sync-period-ms']),
    netns: topo.node,
    cgroup: cgroup?.path,
    bpffs: bpffs?.path,
    loader: here('./bpf-ts-loader.mjs'),
    standIn: here('./agent-apiserver.ts'),
  };
  const result = await runPipeline(file, input);
  const out = { services: input.services, endpoints: input.endpoints, mode: input.mode, minSyncPeriodMs: input.minSyncPeriodMs, ...result };
  if (!args.json) printTable(input, result);
  console.log(JSON.stringify(out, null, args.json ? 2 : undefined));
} finally {
  if (file) rmSync(file, { force: true });
  await bpffs?.unmount().catch(() => undefined);
  await cgroup?.remove().catch(() => undefined);
  await topo.destroy();
}
