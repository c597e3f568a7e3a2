/**
 * A stand-in for kube-apiserver (no real one can run here): a real HTTP server
 * on 127.0.0.1 serving list and watch for Services, EndpointSlices and Nodes
 * as the API server does: a global resourceVersion, chunked watch events
 * (one JSON object per line), BOOKMARK events, 410 Gone for a version older
 * than the retained history, and connections dropped on demand.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Obj = { metadata: { name: string; namespace?: string; resourceVersion?: string } } & Record<string, unknown>;
const RESOURCES: Record<string, { kind: string; apiVersion: string }> = {
  '/api/v1/services': { kind: 'Service', apiVersion: 'v1' },
  '/apis/discovery.k8s.io/v1/endpointslices': { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1' },
  '/api/v1/nodes': { kind: 'Node', apiVersion: 'v1' },
};

interface Event { rv: number; path: string; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: Obj }

export class ApiServerStandIn {
  private rv = 1;
  private readonly objects = new Map<string, Map<string, Obj>>(Object.keys(RESOURCES).map((p) => [p, new Map()]));
  private events: Event[] = [];
  /** versions at or below this are gone (compacted): a watch from them gets 410 */
  private compactedAt = 0;
  private readonly watches = new Set<{ path: string; res: ServerResponse; name?: string }>();
  readonly server = createServer((req, res) => this.handle(req, res));
  /** requests seen, e.g. "list /api/v1/services", "watch /api/v1/services rv=5 bookmarks=true" */
  readonly log: string[] = [];

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  upsert(path: string, obj: Obj): void {
    const store = this.objects.get(path)!;
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const type = store.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = { ...RESOURCES[path], ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } } as Obj;
    store.set(key, stored);
    this.emit({ rv: this.rv, path, type, object: stored });
  }

  remove(path: string, namespace: string, name: string): void {
    const store = this.objects.get(path)!;
    const old = store.get(`${namespace}/${name}`);
    if (!old) return;
    store.delete(`${namespace}/${name}`);
    this.emit({ rv: ++this.rv, path, type: 'DELETED', object: { ...old, metadata: { ...old.metadata, resourceVersion: String(this.rv) } } });
  }

  /** Forget history: a watch resuming from an older version gets 410 Gone and must re-list. */
  compact(): void {
    this.compactedAt = this.rv;
    this.events = [];
  }

  /** Drop every open watch connection (as an API server restart or LB timeout does). */
  dropWatches(): void {
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
  }

  /** Send a BOOKMARK with the current version on every open watch. */
  bookmark(): void {
    for (const w of this.watches) this.write(w.res, { type: 'BOOKMARK', object: { ...RESOURCES[w.path], metadata: { resourceVersion: String(this.rv) } } });
  }

  private emit(e: Event): void {
    this.events.push(e);
    for (const w of this.watches) if (w.path === e.path && selects(w.name, e.object)) this.write(w.res, { type: e.type, object: e.object });
  }

  private write(res: ServerResponse, event: unknown): void {
    res.write(`${JSON.stringify(event)}\n`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const meta = RESOURCES[path];
    if (!meta) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404 }));
      return;
    }
    const name = fieldName(url.searchParams.get('fieldSelector'));
    if (url.searchParams.get('watch') !== 'true') {
      this.log.push(`list ${path}`);
      const items = [...this.objects.get(path)!.values()].filter((o) => selects(name, o));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: `${meta.kind}List`, apiVersion: meta.apiVersion, metadata: { resourceVersion: String(this.rv) }, items }));
      return;
    }
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    this.log.push(`watch ${path} rv=${from} bookmarks=${url.searchParams.get('allowWatchBookmarks')}`);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (from < this.compactedAt) {
      this.write(res, { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${from} (${this.compactedAt})` } });
      res.end();
      return;
    }
    for (const e of this.events) if (e.path === path && e.rv > from && selects(name, e.object)) this.write(res, { type: e.type, object: e.object });
    const w = { path, res, name };
    this.watches.add(w);
    res.on('close', () => this.watches.delete(w));
  }
}

/** The one field selector the agent sends (metadata.name=X, for its own Node); others are refused loudly. */
function fieldName(selector: string | null): string | undefined {
  if (!selector) return undefined;
  const m = /^metadata\.name=([^,]+)$/.exec(selector);
  if (!m) throw new Error(`stand-in: unsupported fieldSelector ${selector}`);
  return m[1];
}

function selects(name: string | undefined, o: Obj): boolean {
  return name === undefined || o.metadata.name === name;
}

export const SERVICES = '/api/v1/services';
export const NODES = '/api/v1/nodes';
export const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
