/**
 * A kubectl List of N Services x E endpoints with their EndpointSlices, as
 * `kubectl get svc,endpointslices -A -o json|yaml` prints it (the fields a real
 * cluster fills in, managedFields hidden as kubectl does), for the input-at-scale
 * measurements (bench/cli-apply.ts). Not a test.
 * Usage: node --import ./bench/bpf-ts-loader.mjs bench/input-fixture.ts N E json|yaml OUT
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const ns = (i: number) => `team-${i % 50}`;
export const vip = (i: number) => `10.${96 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`;
export const endpointIP = (i: number, j: number) => `10.${128 + (i >> 14)}.${(i >> 6) & 0xff}.${((i & 63) << 2) + j}`;
const uid = (i: number, k: number) => `${(i * 2 + k).toString(16).padStart(8, '0')}-1111-4222-8333-444455556666`;
const stamp = '2026-12-01T10:00:00Z';

export function service(i: number): object {
  const name = `svc-${i}`;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      creationTimestamp: stamp,
      labels: { app: name, 'app.kubernetes.io/part-of': 'bench' },
      name,
      namespace: ns(i),
      resourceVersion: String(1000 + i),
      uid: uid(i, 0),
    },
    spec: {
      clusterIP: vip(i),
      clusterIPs: [vip(i)],
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      selector: { app: name },
      sessionAffinity: 'None',
      type: 'ClusterIP',
    },
    status: { loadBalancer: {} },
  };
}

export function slice(i: number, endpoints: number, changed = -1): object {
  const name = `svc-${i}`;
  return {
    addressType: 'IPv4',
    apiVersion: 'discovery.k8s.io/v1',
    endpoints: Array.from({ length: endpoints }, (_, j) => ({
      addresses: [i === changed && j === 0 ? '10.127.255.254' : endpointIP(i, j)],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: `node-${j}`,
      targetRef: { kind: 'Pod', name: `${name}-pod-${j}`, namespace: ns(i), uid: uid(i, 1) },
      zone: `zone-${j % 3}`,
    })),
    kind: 'EndpointSlice',
    metadata: {
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': stamp },
      creationTimestamp: stamp,
      generateName: `${name}-`,
      generation: 1,
      labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', 'kubernetes.io/service-name': name },
      name: `${name}-abcde`,
      namespace: ns(i),
      ownerReferences: [{ apiVersion: 'v1', blockOwnerDeletion: true, controller: true, kind: 'Service', name, uid: uid(i, 0) }],
      resourceVersion: String(5000 + i),
      uid: uid(i, 1),
    },
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

/** kubectl's YAML: block style, two-space indent, lists not indented under their key. */
function yaml(v: unknown, indent: string): string {
  if (Array.isArray(v)) return v.map((x) => `\n${indent}- ${yaml(x, `${indent}  `).replace(/^\n\s*/, '')}`).join('');
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return ' {}';
    return entries.map(([k, x]) => `\n${indent}${k}:${Array.isArray(x) ? yaml(x, indent) : typeof x === 'object' && x !== null ? yaml(x, `${indent}  `) : ` ${scalar(x)}`}`).join('');
  }
  return scalar(v);
}
const scalar = (x: unknown) => (typeof x === 'string' && !/^[a-zA-Z][\w./-]*$/.test(x) ? JSON.stringify(x) : String(x));

/** Write the List to `out` (one object at a time: the writer never holds the whole document). */
export async function writeList(o: { n: number; endpoints: number; format: 'json' | 'yaml'; out: string; changed?: number }): Promise<void> {
  const w = createWriteStream(o.out);
  const put = async (s: string) => {
    if (!w.write(s)) await once(w, 'drain');
  };
  const items = function* () {
    for (let i = 0; i < o.n; i++) yield service(i);
    for (let i = 0; i < o.n; i++) yield slice(i, o.endpoints, o.changed);
  };
  if (o.format === 'json') {
    await put('{\n    "apiVersion": "v1",\n    "items": [');
    let first = true;
    for (const it of items()) {
      await put(`${first ? '' : ','}\n        ${JSON.stringify(it, null, 4).replace(/\n/g, '\n        ')}`);
      first = false;
    }
    await put('\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n');
  } else {
    await put('apiVersion: v1\nitems:');
    for (const it of items()) await put(yaml([it], ''));
    await put('\nkind: List\nmetadata:\n  resourceVersion: ""\n');
  }
  w.end();
  await once(w, 'finish');
}

if (process.argv[1]?.endsWith('input-fixture.ts')) {
  const [n, e, format, out] = process.argv.slice(2);
  await writeList({ n: Number(n), endpoints: Number(e), format: format as 'json' | 'yaml', out: out! });
}
