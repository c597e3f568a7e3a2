/**
 * Parse a file of services: a Kubernetes List (YAML or JSON, as kubectl prints
 * it) or svcproxy's concise format. The first problem is thrown as one
 * SvcproxyError naming the file and the field; nothing partial is returned.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { invalidField, SvcproxyError } from '../errors.js';
import { conciseSchema, fromConcise } from './concise.js';
import { formatPath } from './fields.js';
import { endpointSliceSchema, fromKubernetes, serviceSchema, type KubeEndpointSlice, type KubeService } from './kubernetes.js';
import type { ServiceSet } from './types.js';
import { checkServiceSet } from './validate.js';
import { readJsonItems } from './jsonitems.js';

export async function loadFile(path: string): Promise<ServiceSet> {
  try {
    const streamed = await loadJsonList(path);
    if (streamed) return streamed;
    return parseServices(await readFile(path, 'utf8'), path);
  } catch (e) {
    if (e instanceof SvcproxyError || !(e as NodeJS.ErrnoException).syscall) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new SvcproxyError(`${path}: cannot read: ${(e as Error).message}`, { code, op: 'read', file: path });
  }
}

/**
 * A kubectl List in JSON, one item at a time (the document is never built
 * whole). The first invalid item's error is kept and thrown only once the file
 * proved to be well-formed JSON, as the ordinary path would; any surprise
 * (see jsonitems.ts) returns undefined and the ordinary path runs instead.
 */
async function loadJsonList(path: string): Promise<ServiceSet | undefined> {
  const reader = new ItemReader(path);
  let firstError: unknown;
  const ok = await readJsonItems(path, (text, j) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return false; // a syntax error: the ordinary path locates it
    }
    if (firstError === undefined) {
      try {
        reader.add(value, `items[${j}]`);
      } catch (e) {
        firstError = e;
      }
    }
    return true;
  });
  if (!ok) return undefined;
  if (firstError !== undefined) throw firstError;
  return reader.finish();
}

/** Parse YAML or JSON text (JSON is YAML) into a validated ServiceSet. */
export function parseServices(text: string, file = '<input>'): ServiceSet {
  return fromValues(parseDocuments(text, file), file);
}

/** JSON (kubectl -o json) the fast way; YAML, or JSON with a syntax error, through the YAML parser for its line numbers. */
function parseDocuments(text: string, file: string): unknown[] {
  if (/^\s*[[{]/.test(text)) {
    try {
      return [JSON.parse(text)];
    } catch {
      // fall through: the YAML parser locates the error
    }
  }
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const values: unknown[] = [];
  for (const d of list) {
    const err = d.errors[0];
    if (err) {
      const line = err.linePos?.[0];
      const where = line ? `line ${line.line} column ${line.col}` : 'syntax';
      throw invalidField(where, err.message.split('\n')[0]!, file);
    }
    const v = d.toJS();
    if (v !== null && v !== undefined) values.push(v);
  }
  return values;
}

function fromValues(values: unknown[], file: string): ServiceSet {
  if (values.length === 0) return { services: [], ignored: [] };

  const prefix = (i: number) => (values.length > 1 ? `documents[${i}].` : '');
  const first = values[0] as Record<string, unknown>;
  if (values.length === 1 && isObject(first) && 'services' in first) {
    const doc = parseWith(conciseSchema, first, '', file);
    return checkServiceSet({ services: fromConcise(doc), ignored: [] }, file, (i) => `services[${i}]`);
  }

  // Kubernetes objects: List items or bare objects, in any number of documents.
  const items: { value: unknown; path: string }[] = [];
  values.forEach((v, i) => {
    if (!isObject(v)) throw invalidField(prefix(i) || '(root)', 'expected a Kubernetes List or object, or a services: list', file);
    if (v.kind === 'List' || Array.isArray(v.items)) {
      if (!Array.isArray(v.items)) throw invalidField(`${prefix(i)}items`, 'must be a list', file);
      v.items.forEach((item, j) => items.push({ value: item, path: `${prefix(i)}items[${j}]` }));
    } else {
      items.push({ value: v, path: prefix(i).replace(/\.$/, '') });
    }
  });

  const reader = new ItemReader(file);
  for (const { value, path } of items) reader.add(value, path);
  return reader.finish();
}

/**
 * Services and EndpointSlices, validated one at a time as they are read; only
 * the fields the model reads are kept (kubectl output carries much more).
 */
class ItemReader {
  private readonly services: KubeService[] = [];
  private readonly servicePaths: string[] = [];
  private readonly slices: { slice: KubeEndpointSlice; path: string }[] = [];
  constructor(private readonly file: string) {}

  add(value: unknown, path: string): void {
    const file = this.file;
    if (!isObject(value)) throw invalidField(path || '(root)', 'must be an object', file);
    if (value.kind === 'Service') {
      this.services.push(compactService(parseWith(serviceSchema, value, path, file)));
      this.servicePaths.push(path);
    } else if (value.kind === 'EndpointSlice') {
      this.slices.push({ slice: compactSlice(parseWith(endpointSliceSchema, value, path, file)), path });
    } else if (typeof value.kind !== 'string') {
      throw invalidField(join(path, 'kind'), 'missing: expected Service or EndpointSlice', file);
    }
    // Other kinds (Endpoints, Pods... from `kubectl get all`) are not ours to read.
  }

  finish(): ServiceSet {
    const { file, services, servicePaths } = this;
    const check = (ok: boolean, field: string, problem: string) => {
      if (!ok) throw invalidField(field, problem, file);
    };
    const set = fromKubernetes(services, this.slices, check);
    const pathOf = new Map(services.map((s, i) => [`${s.metadata.namespace}/${s.metadata.name}`, servicePaths[i]!]));
    return checkServiceSet(set, file, (i) => {
      const s = set.services[i]!;
      return join(pathOf.get(`${s.namespace}/${s.name}`) ?? '', 'spec');
    });
  }
}

/** The parsed Service without what kube-proxy never reads (uid, selector, annotations...). */
function compactService(s: KubeService): KubeService {
  const { name, namespace, labels } = s.metadata;
  const { selector: _selector, ...spec } = s.spec as KubeService['spec'] & { selector?: unknown };
  return { apiVersion: s.apiVersion, kind: s.kind, metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec, ...(s.status ? { status: s.status } : {}) };
}

/** The parsed slice with only the fields addSliceEndpoints reads (no targetRef, owner references...). */
function compactSlice(s: KubeEndpointSlice): KubeEndpointSlice {
  const { name, namespace, labels } = s.metadata;
  const endpoints = s.endpoints?.map(({ addresses, conditions, nodeName, zone, hints }) => ({ addresses, conditions, nodeName, zone, hints }));
  return { apiVersion: s.apiVersion, kind: s.kind, addressType: s.addressType, metadata: { name, namespace, ...(labels ? { labels } : {}) }, endpoints, ports: s.ports };
}

function parseWith<T extends z.ZodType>(schema: T, value: unknown, path: string, file: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = join(path, formatPath(issue.path));
  let problem = issue.message;
  if (issue.code === 'unrecognized_keys') problem = `unknown field ${JSON.stringify(issue.keys[0])}`;
  else if (issue.code === 'invalid_type' && issue.input === undefined) problem = 'required';
  else if (issue.code === 'invalid_value' && 'values' in issue) problem = `must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, got ${JSON.stringify(issue.input)}`;
  throw invalidField(field, oneLine(problem), file);
}

function join(a: string, b: string): string {
  if (b === '(root)') return a || b;
  if (!a) return b;
  return b.startsWith('[') ? a + b : `${a}.${b}`;
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
