/**
 * The change tracker (kube-proxy's ServiceChangeTracker + EndpointsChangeTracker
 * in one): keeps the last Service and EndpointSlices seen per Service, marks a
 * Service dirty when either changes, and turns the dirty set into one
 * ServiceProxy.update() change. Objects go through the same schemas and
 * checks as a file load (model/), so the agent validates exactly like apply.
 */
import { invalidField, SvcproxyError } from '../errors.js';
import {
  addSliceEndpoints,
  endpointSliceSchema,
  HEADLESS_LABEL,
  isIgnored,
  serviceFromKubernetes,
  serviceSchema,
  SERVICE_PROXY_NAME_LABEL,
  sliceOwner,
  type KubeEndpointSlice,
  type KubeService,
} from '../model/kubernetes.js';
import type { Endpoint, IgnoredService, Service } from '../model/types.js';
import { checkServiceSet } from '../model/validate.js';
import type { ServiceChange } from '../api/proxy.js';

export interface TrackerOptions {
  /** program only Services whose service-proxy-name label has this value (default: only unlabelled ones, as kube-proxy) */
  serviceProxyName?: string;
  /** told about every object skipped as invalid (the agent logs it) */
  onInvalid?: (key: string, error: SvcproxyError) => void;
  /** told about every Service as take()/all() build it (undefined: gone, ignored or invalid); the healthCheckNodePorts follow it */
  onBuilt?: (key: string, svc: Service | undefined) => void;
}

interface Meta {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
}

/**
 * The tracker keeps the informer's own objects (validated on arrival, parsed
 * again when a Service is built), not a parsed copy of each: at 30k Services
 * the copy was as large as the informer cache itself.
 */
export class ChangeTracker {
  private readonly services = new Map<string, object>();
  /** service key -> slice name -> slice */
  private readonly slices = new Map<string, Map<string, object>>();
  /** slice "namespace/name" -> its owner key, to find it again on delete */
  private readonly sliceOwners = new Map<string, string>();
  private readonly dirty = new Set<string>();
  readonly ignored = new Map<string, IgnoredService>();
  serviceChanges = 0;
  endpointChanges = 0;

  constructor(private readonly opts: TrackerOptions = {}) {}

  get pending(): number {
    return this.dirty.size;
  }

  /** Services (ours) and EndpointSlices held now, for the agent's progress line. */
  counts(): { services: number; slices: number } {
    return { services: this.services.size, slices: this.sliceOwners.size };
  }

  /** kube-proxy's label rule: skip objects another proxy owns, and headless slices. */
  private ours(labels: Record<string, string> | undefined): boolean {
    const owner = labels?.[SERVICE_PROXY_NAME_LABEL];
    if (owner !== (this.opts.serviceProxyName ?? undefined)) return false;
    return labels?.[HEADLESS_LABEL] === undefined;
  }

  setService(obj: unknown): void {
    const key = keyOf(obj);
    const parsed = this.parse(serviceSchema, asService(obj), key);
    if (parsed && this.ours(parsed.metadata.labels)) this.services.set(key, obj as object);
    else this.services.delete(key);
    this.serviceChanges++;
    this.dirty.add(key);
  }

  deleteService(obj: unknown): void {
    const key = keyOf(obj);
    this.services.delete(key);
    this.serviceChanges++;
    this.dirty.add(key);
  }

  setSlice(obj: unknown): void {
    const sliceKey = keyOf(obj);
    this.deleteSlice(obj); // a slice can change owner or become invalid
    const parsed = this.parse(endpointSliceSchema, asSlice(obj), sliceKey);
    const owner = parsed && this.ours(parsed.metadata.labels) ? sliceOwner(parsed) : undefined;
    if (!parsed || !owner) return;
    const byName = this.slices.get(owner) ?? this.slices.set(owner, new Map()).get(owner)!;
    byName.set(sliceKey, obj as object);
    this.sliceOwners.set(sliceKey, owner);
    this.dirty.add(owner);
  }

  deleteSlice(obj: unknown): void {
    const sliceKey = keyOf(obj);
    const owner = this.sliceOwners.get(sliceKey);
    this.endpointChanges++;
    if (!owner) return;
    this.sliceOwners.delete(sliceKey);
    const byName = this.slices.get(owner);
    byName?.delete(sliceKey);
    if (byName?.size === 0) this.slices.delete(owner);
    this.dirty.add(owner);
  }

  /** The dirty Services as one update (and forget them): set what exists and is valid, remove the rest. */
  take(): ServiceChange {
    const set: Service[] = [];
    const remove: { namespace: string; name: string }[] = [];
    for (const key of this.dirty) {
      const svc = this.build(key);
      if (svc) set.push(svc);
      else remove.push(splitKey(key));
    }
    this.dirty.clear();
    return { set, remove };
  }

  /** Every Service as the model has it (for a full reconcile). */
  all(): Service[] {
    return [...this.services.keys()].flatMap((k) => this.build(k) ?? []);
  }

  private build(key: string): Service | undefined {
    const svc = this.buildService(key);
    this.opts.onBuilt?.(key, svc);
    return svc;
  }

  private buildService(key: string): Service | undefined {
    this.ignored.delete(key);
    const raw = this.services.get(key);
    if (!raw) return undefined;
    const kube = reparse<KubeService>(serviceSchema, asService(raw));
    const byAddress = new Map<string, Endpoint>();
    try {
      for (const [name, slice] of this.slices.get(key) ?? []) addSliceEndpoints(byAddress, reparse<KubeEndpointSlice>(endpointSliceSchema, asSlice(slice)), name, (ok, field, problem) => {
        if (!ok) throw invalidField(field, problem, 'EndpointSlice');
      });
      const svc = serviceFromKubernetes(kube, [...byAddress.values()]);
      if (isIgnored(svc)) {
        this.ignored.set(key, svc);
        return undefined;
      }
      checkServiceSet({ services: [svc], ignored: [] }, `Service ${key}`, () => 'spec');
      return svc;
    } catch (e) {
      if (!(e instanceof SvcproxyError)) throw e;
      this.opts.onInvalid?.(key, e);
      return undefined;
    }
  }

  private parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, value: unknown, key: string): T | undefined {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    const issue = r.error.issues[0]!;
    this.opts.onInvalid?.(key, invalidField(issue.path.join('.') || '(root)', issue.message, key));
    return undefined;
  }
}

const asService = (obj: unknown) => ({ apiVersion: 'v1', kind: 'Service', ...(obj as object) });
const asSlice = (obj: unknown) => ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', ...(obj as object) });

/** An object that passed the schema on arrival parses the same again (the informer replaces objects, never edits them). */
function reparse<T>(schema: { parse(v: unknown): unknown }, value: unknown): T {
  return schema.parse(value) as T;
}

function keyOf(obj: unknown): string {
  const m = (obj as Meta).metadata;
  return `${m?.namespace ?? 'default'}/${m?.name ?? ''}`;
}

function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
