/**
 * List-then-watch of Services, EndpointSlices and this node's Node with @kubernetes/client-node
 * informers. The informer lists, watches from the list's resourceVersion
 * (with bookmarks, so a reconnect resumes from a recent version), and on 410
 * Gone re-lists and reports only the objects that differ (it diffs against
 * its cache), so a watch reset never flushes the dataplane. Other errors stop
 * an informer: it is restarted with capped exponential backoff.
 */
import { CoreV1Api, KubeConfig, ListWatch, Watch, type KubernetesObject, type V1Node } from '@kubernetes/client-node';
import { listJson } from './list.js';
import type { ChangeTracker } from './tracker.js';

export interface WatchOptions {
  kubeconfig: KubeConfig;
  tracker: ChangeTracker;
  /** something changed in the tracker */
  onChange: () => void;
  onError?: (resource: string, e: unknown, retryMs: number) => void;
  maxBackoffMs?: number;
  /** watch this Node (field selector metadata.name), told of every version of it; undefined: deleted */
  node?: { name: string; onNode: (node: V1Node | undefined) => void };
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
  // plain JSON lists (list.ts): the same objects the watch sends, without the generated client's class instances
  const list = (path: string) => () => listJson<KubernetesObject>(opts.kubeconfig, path);
  const core = opts.kubeconfig.makeApiClient(CoreV1Api);
  const { tracker } = opts;
  const informers = [
    watchOne(opts, 'services', '/api/v1/services', list('/api/v1/services'), {
      set: (o) => tracker.setService(o),
      remove: (o) => tracker.deleteService(o),
    }),
    watchOne(opts, 'endpointslices', '/apis/discovery.k8s.io/v1/endpointslices', list('/apis/discovery.k8s.io/v1/endpointslices'), {
      set: (o) => tracker.setSlice(o),
      remove: (o) => tracker.deleteSlice(o),
    }),
  ];
  const node = opts.node;
  if (node) {
    const fieldSelector = `metadata.name=${node.name}`;
    informers.push(
      watchOne(opts, 'nodes', '/api/v1/nodes', () => core.listNode({ fieldSelector }), {
        set: (o) => node.onNode(o as V1Node),
        remove: () => node.onNode(undefined),
        quiet: true,
      }, fieldSelector),
    );
  }
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
  /** quiet: the tracker did not change, no onChange */
  on: { set: (o: KubernetesObject) => void; remove: (o: KubernetesObject) => void; quiet?: boolean },
  fieldSelector?: string,
) {
  const lw = new ListWatch<KubernetesObject>(path, new BookmarkWatch(opts.kubeconfig), list as never, false, undefined, fieldSelector);
  let stopped = false;
  let backoff = 100;
  let timer: NodeJS.Timeout | undefined;
  let listed!: () => void;
  const synced = new Promise<void>((r) => (listed = r));
  const changed = (fn: (o: KubernetesObject) => void) => (o: KubernetesObject) => {
    fn(o);
    if (!on.quiet) opts.onChange();
  };
  lw.on('add', changed(on.set));
  lw.on('update', changed(on.set));
  lw.on('delete', changed(on.remove));
  let errors = 0;
  // synced only after a list that went through; backoff resets only then (a refused list retries slower each time)
  const attempt = () => {
    const before = errors;
    void lw.start().then(() => {
      if (errors !== before) return;
      backoff = 100;
      listed();
    });
  };
  lw.on('error', (e) => {
    errors++;
    if (stopped) return;
    const wait = backoff;
    backoff = Math.min(backoff * 2, opts.maxBackoffMs ?? 30_000);
    opts.onError?.(resource, e, wait);
    clearTimeout(timer);
    timer = setTimeout(attempt, wait);
  });
  attempt();
  return {
    synced,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await lw.stop();
    },
  };
}
