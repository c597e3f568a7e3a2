/**
 * An HTTP GET over real TCP from one namespace of a closed topology (curl in
 * the client namespace, as a load balancer's probe arrives): status, headers
 * and the JSON body, or ECONNREFUSED when nothing listens.
 */
import type { Topology } from '../../src/sandbox/topology.js';

export interface Probe { status?: number; headers: Record<string, string>; body?: unknown; error?: string }

export async function probeHttp(t: Topology, host: string, port: number, from = t.client): Promise<Probe> {
  let out: string;
  try {
    out = await t.exec(from, ['curl', '-sS', '-i', '--max-time', '3', `http://${host}:${port}/`]);
  } catch (e) {
    return { headers: {}, error: /Connection refused|Couldn't connect/.test(String(e)) ? 'ECONNREFUSED' : String(e) };
  }
  const [head, body] = out.split('\r\n\r\n');
  const lines = head!.split('\r\n');
  const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(lines[0]!.split(' ')[1]), headers, body: JSON.parse(body!) };
}
