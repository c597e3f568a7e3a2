/** A small, hand-made LabResults (numbers chosen so every ratio is easy to check). */
import type { DirectFigures, LabResults, LatencySummary, Point } from '../../src/lab/types.js';

export const lat = (p50: number, p99 = p50 * 2): LatencySummary => ({
  samples: 1000,
  errors: 0,
  min_us: p50 / 2,
  p50_us: p50,
  p90_us: (p50 + p99) / 2,
  p99_us: p99,
  max_us: p99 * 2,
  mean_us: p50,
});

export function point(services: number, p50Last: number, syncMs: number, changeMs = 2): Point {
  return {
    services,
    endpoints: 4,
    sync: { wallMs: syncMs, kernelMs: syncMs / 2 },
    change: { wallMs: [changeMs, changeMs], kernelMs: [changeMs / 2, changeMs / 2], medianWallMs: changeMs, medianKernelMs: changeMs / 2, written: [1, 1] },
    cleanupMs: 1,
    memory: { rssKiB: 80_000, heapUsedKiB: 20_000, kernelDeltaKiB: services / 10 },
    latency: { first: lat(40), last: lat(p50Last), directLoaded: lat(p50Last) },
    rate: { connections: 20_000, errors: 0, seconds: 2, threads: 4, per_second: 10_000 },
    throughput: { seconds: 3, bitsPerSecond: 10e9 },
  };
}

const direct = (origin: 'client' | 'node'): DirectFigures => ({
  origin,
  latency: lat(40, 80),
  rate: { connections: 40_000, errors: 0, seconds: 2, threads: 4, per_second: 20_000 },
  throughput: { seconds: 3, bitsPerSecond: 20e9 },
});

export function fixture(): LabResults {
  return {
    schema: 'svcproxy-lab/1',
    command: 'svcproxy lab --services 1,1000,30000',
    startedAt: '2026-12-01T20:00:00.000Z',
    finishedAt: '2026-12-01T20:05:00.000Z',
    machine: { hostname: 'h', nproc: 2, cpuModel: 'cpu', memTotalKiB: 24 << 20, kernel: '6.18.0', node: 'v20', svcproxy: '0.1.0', tools: {} },
    options: { services: [1, 1000, 30000], endpoints: [4], samples: 1000, rounds: 3, rateSeconds: 2, rateThreads: 4, iperfSeconds: 3, changes: 7, syncTimeoutSeconds: 120 },
    runs: [
      {
        where: 'host',
        kernel: '6.18.0',
        directs: [direct('client'), direct('node')],
        modes: [
          { mode: 'iptables', usable: true, versions: {}, origin: 'client', points: [point(1, 44, 10, 20), point(1000, 60, 100, 30), point(30000, 640, 800, 60)] },
          { mode: 'nftables', usable: true, versions: {}, origin: 'client', points: [point(1, 44, 5, 2), point(1000, 44, 50, 2), point(30000, 44, 600, 3)] },
          { mode: 'bpf', usable: true, versions: {}, origin: 'node', points: [point(1, 41, 5, 0.5), point(1000, 41, 60, 0.5), point(30000, 41, 700, 0.5)] },
          { mode: 'ipvs', usable: false, reason: 'host kernel: no IPVS; measured inside User-Mode Linux instead', versions: {}, origin: 'client', points: [] },
        ],
      },
      {
        where: 'uml',
        kernel: '6.1.176',
        directs: [direct('client')],
        modes: [
          { mode: 'iptables', usable: true, versions: {}, origin: 'client', points: [point(1, 100, 30)] },
          { mode: 'ipvs', usable: true, versions: {}, origin: 'client', points: [point(1, 100, 20)] },
        ],
      },
    ],
  };
}
