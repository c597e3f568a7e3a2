/**
 * Steady load for switch and crash tests: new TCP connections at a fixed
 * rate to each target, plus long-lived connections that keep exchanging
 * data. Runs until its stdin closes (or maxMs), then prints one JSON report:
 * failed connects, slow connects (> slowMs), and established connections
 * that were reset or stalled.
 *
 * usage: node load.js '{"targets":[{"host":"10.96.0.10","port":80}],"rate":50,"longLived":4,"maxMs":120000}'
 */
import { connect, type Socket } from 'node:net';

interface Spec {
  targets: { host: string; port: number }[];
  /** new connections per second, per target */
  rate: number;
  longLived: number;
  maxMs: number;
  slowMs?: number;
  timeoutMs?: number;
  /** an echo missing this long counts as a stalled connection (default 5000) */
  stallMs?: number;
}

export interface LoadReport {
  connects: number;
  failed: number;
  slow: number;
  errors: Record<string, number>;
  longLived: number;
  /** long-lived connections that were reset or closed by the other side */
  broken: number;
  /** long-lived connections whose echo stopped for longer than stallMs (then dropped) */
  stalled: number;
  /** longest wait for an echo on a long-lived connection, ms, and when it ended (ms since start) */
  maxEchoGapMs: number;
  maxEchoGapAt: number;
  exchanges: number;
  maxConnectMs: number;
  backends: Record<string, number>;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const slowMs = spec.slowMs ?? 1000;
const timeoutMs = spec.timeoutMs ?? 3000;
const stallMs = spec.stallMs ?? 5000;
const report: LoadReport = {
  connects: 0,
  failed: 0,
  slow: 0,
  errors: {},
  longLived: 0,
  broken: 0,
  stalled: 0,
  maxEchoGapMs: 0,
  maxEchoGapAt: 0,
  exchanges: 0,
  maxConnectMs: 0,
  backends: {},
};
const started = performance.now();
const pending = new Set<Promise<void>>();
let stopping = false;

function once(t: { host: string; port: number }): Promise<void> {
  const start = performance.now();
  return new Promise((resolve) => {
    const sock = connect({ host: t.host, port: t.port });
    let done = false;
    const finish = (err?: string, backend?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const ms = performance.now() - start;
      report.connects++;
      report.maxConnectMs = Math.max(report.maxConnectMs, ms);
      if (err) {
        report.failed++;
        report.errors[err] = (report.errors[err] ?? 0) + 1;
      } else {
        if (ms > slowMs) report.slow++;
        report.backends[backend!] = (report.backends[backend!] ?? 0) + 1;
      }
      resolve();
    };
    const timer = setTimeout(() => finish('ETIMEDOUT'), timeoutMs);
    sock.once('data', (d) => finish(undefined, d.toString().split(' ')[0]));
    sock.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    sock.on('end', () => finish('ECONNRESET'));
  });
}

function longLived(t: { host: string; port: number }): Promise<void> {
  return new Promise((resolve) => {
    const sock: Socket = connect({ host: t.host, port: t.port });
    let greeted = false;
    let lastEcho = performance.now();
    let outstanding = 0;
    let ended = false;
    const end = (how: 'ok' | 'broken' | 'stalled') => {
      if (ended) return;
      ended = true;
      clearInterval(tick);
      if (how !== 'ok') report[how]++;
      sock.destroy();
      resolve();
    };
    sock.on('data', (d) => {
      const text = d.toString();
      if (!greeted) {
        greeted = true;
        report.longLived++;
      }
      const echoes = (text.match(/ping/g) ?? []).length;
      outstanding -= echoes;
      report.exchanges += echoes;
      if (echoes) {
        const gap = performance.now() - lastEcho;
        if (gap > report.maxEchoGapMs) {
          report.maxEchoGapMs = gap;
          report.maxEchoGapAt = performance.now() - started;
        }
        lastEcho = performance.now();
      }
    });
    const tick = setInterval(() => {
      if (stopping) return end('ok');
      if (!greeted) return;
      if (outstanding > 0 && performance.now() - lastEcho > stallMs) return end('stalled');
      sock.write('ping\n');
      outstanding++;
    }, 50);
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const code = `long-lived ${e.code ?? e.message}`;
      report.errors[code] = (report.errors[code] ?? 0) + 1;
      end('broken');
    });
    sock.on('close', () => {
      if (!stopping && !ended) report.errors['long-lived closed by peer'] = (report.errors['long-lived closed by peer'] ?? 0) + 1;
      end(stopping ? 'ok' : 'broken');
    });
  });
}

const lived = Array.from({ length: spec.longLived }, (_, i) => longLived(spec.targets[i % spec.targets.length]!));
const interval = 1000 / spec.rate;
const timer = setInterval(() => {
  if (stopping || performance.now() - started > spec.maxMs) return stop();
  for (const t of spec.targets) {
    const p = once(t);
    pending.add(p);
    void p.then(() => pending.delete(p));
  }
}, interval);

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  await Promise.all([...pending, ...lived]);
  process.stdout.write(JSON.stringify(report) + '\n');
  process.exit(0);
}

process.stdin.on('end', () => void stop());
process.stdin.resume();
process.stdout.write('started\n');
