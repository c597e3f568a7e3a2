/**
 * List-then-watch of Services and EndpointSlices with @kubernetes/client-node
 * informers. The informer lists, watches from the list's resourceVersion
 * (with bookmarks, so a reconnect resumes from a recent version), and on 410
 * Gone re-lists and reports only the objects that differ (it diffs against
 * its cache), so a watch reset never flushes the dataplane. Other errors stop
 * an informer: it is restarted with capped exponential backoff.
 */
import { CoreV1Api, DiscoveryV1Api, KubeConfig, ListWatch, Watch, type KubernetesObject } from '@kubernetes/client-node';
import type { ChangeTracker } from './tracker.js';

export interface WatchOptions {
  kubeconfig: KubeConfig;
  tracker: ChangeTracker;
  /** something changed in the tracker */
  onChange: () => void;
  onError?: (resource: string, e: unknown, retryMs: number) => void;
  maxBackoffMs?: number;
}

/** A Watch that asks for bookmarks (the informer does not). */
class BookmarkWatch extends Watch {
  override watch(path: string, query: Record<string, unknown>, cb: Parameters<Watch['watch']>[2], done: Parameters<Watch['watch']>[3]) {
    return super.watch(path, { ...query, allowWatchBookmarks: true }, cb, done);
  }
}

export interface Watchers {
  /** resolves when every informer has listed once */
  synced: Promise<void>;
  stop(): Promise<void>;
}

export function startWatching(opts: WatchOptions): Watchers {
  const core = opts.kubeconfig.makeApiClient(CoreV1Api);
  const discovery = opts.kubeconfig.makeApiClient(DiscoveryV1Api);
  const { tracker } = opts;
  const informers = [
    watchOne(opts, 'services', '/api/v1/services', () => core.listServiceForAllNamespaces(), {
      set: (o) => tracker.setService(o),
      remove: (o) => tracker.deleteService(o),
    }),
    watchOne(opts, 'endpointslices', '/apis/discovery.k8s.io/v1/endpointslices', () => discovery.listEndpointSliceForAllNamespaces(), {
      set: (o) => tracker.setSlice(o),
      remove: (o) => tracker.deleteSlice(o),
    }),
  ];
  return {
    synced: Promise.all(informers.map((i) => i.synced)).then(() => undefined),
    stop: async () => {
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}

function watchOne(
  opts: WatchOptions,
  resource: string,
  path: string,
  list: () => Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }>,
  on: { set: (o: KubernetesObject) => void; remove: (o: KubernetesObject) => void },
) {
  const lw = new ListWatch<KubernetesObject>(path, new BookmarkWatch(opts.kubeconfig), list as never, false);
  let stopped = false;
  let backoff = 100;
  let timer: NodeJS.Timeout | undefined;
  let listed!: () => void;
  const synced = new Promise<void>((r) => (listed = r));
  const changed = (fn: (o: KubernetesObject) => void) => (o: KubernetesObject) => {
    fn(o);
    opts.onChange();
  };
  lw.on('add', changed(on.set));
  lw.on('update', changed(on.set));
  lw.on('delete', changed(on.remove));
  lw.on('connect', () => {
    backoff = 100;
  });
  lw.on('error', (e) => {
    if (stopped) return;
    const wait = backoff;
    backoff = Math.min(backoff * 2, opts.maxBackoffMs ?? 30_000);
    opts.onError?.(resource, e, wait);
    timer = setTimeout(() => void lw.start().then(listed), wait);
  });
  void lw.start().then(listed);
  return {
    synced,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await lw.stop();
    },
  };
}
