/**
 * A test client: makes COUNT connections (TCP) or exchanges (UDP) to each
 * target, one after another, and prints one JSON array of results. Each
 * result is the backend's greeting, or the error code (ECONNREFUSED,
 * EHOSTUNREACH, ETIMEDOUT...). Bounded: every attempt has a timeout.
 *
 * Hosts may be IPv4 or IPv6 addresses (UDP then uses a udp6 socket).
 *
 * usage: node client.js '{"targets":[{"host":"10.96.0.1","port":80,"proto":"TCP"}],"count":10,"timeoutMs":2000}'
 */
import { connect, isIPv6 } from 'node:net';
import { createSocket } from 'node:dgram';

interface Target {
  host: string;
  port: number;
  proto: 'TCP' | 'UDP';
}
interface Spec {
  targets: Target[];
  count: number;
  timeoutMs: number;
}
export interface Attempt {
  host: string;
  port: number;
  proto: string;
  ok: boolean;
  /** backend name from the greeting */
  backend?: string;
  /** backend's local address:port and the peer it saw */
  local?: string;
  peer?: string;
  error?: string;
  ms: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;

function parse(line: string): Pick<Attempt, 'backend' | 'local' | 'peer'> {
  const [backend, local, peer] = line.trim().split(' ');
  return { backend, local, peer };
}

function tcp(t: Target): Promise<Attempt> {
  const start = performance.now();
  return new Promise((resolve) => {
    const sock = connect({ host: t.host, port: t.port });
    let buf = '';
    const done = (r: Partial<Attempt>) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ host: t.host, port: t.port, proto: 'TCP', ok: false, ms: performance.now() - start, ...r });
    };
    const timer = setTimeout(() => done({ error: 'ETIMEDOUT' }), spec.timeoutMs);
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\n')) done({ ok: true, ...parse(buf) });
    });
    sock.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message }));
    sock.on('end', () => done({ error: buf ? 'EPROTO' : 'ECONNRESET' }));
  });
}

function udp(t: Target): Promise<Attempt> {
  const start = performance.now();
  return new Promise((resolve) => {
    const sock = createSocket(isIPv6(t.host) ? 'udp6' : 'udp4');
    const done = (r: Partial<Attempt>) => {
      clearTimeout(timer);
      sock.close();
      resolve({ host: t.host, port: t.port, proto: 'UDP', ok: false, ms: performance.now() - start, ...r });
    };
    const timer = setTimeout(() => done({ error: 'ETIMEDOUT' }), spec.timeoutMs);
    sock.on('message', (m) => done({ ok: true, ...parse(m.toString()) }));
    // A connected UDP socket reports ICMP port-unreachable (REJECT) as ECONNREFUSED.
    sock.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message }));
    sock.connect(t.port, t.host, (err?: Error) =>
      err ? done({ error: (err as NodeJS.ErrnoException).code ?? err.message }) : sock.send('hello\n'),
    );
  });
}

const results: Attempt[] = [];
for (const t of spec.targets) {
  for (let i = 0; i < spec.count; i++) results.push(await (t.proto === 'UDP' ? udp(t) : tcp(t)));
}
process.stdout.write(JSON.stringify(results) + '\n');
