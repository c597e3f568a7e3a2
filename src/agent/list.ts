/**
 * A list request answered as plain JSON objects, as the watch delivers its
 * events. The generated client (CoreV1Api.list...) turns every item into
 * class instances through its ObjectSerializer: at 30,000 Services and their
 * EndpointSlices that cost ~1 s of the first sync and a second shape of each
 * object in memory. Auth and TLS come from the KubeConfig as for the watch.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface ListResult<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

export async function listJson<T>(kc: KubeConfig, path: string): Promise<ListResult<T>> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No currently active cluster');
  const url = new URL(cluster.server + path);
  const opts: RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) return resolve(text);
        // the shape the generated client's errors have: the informer reports it and retries
        reject(Object.assign(new Error(`list ${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`), { code: res.statusCode, statusCode: res.statusCode, body: text }));
      });
    });
    req.on('error', reject);
    req.end();
  });
  return JSON.parse(body) as ListResult<T>;
}
