/**
 * The agent's configuration: kube-proxy's flags where they apply, and a YAML
 * file with the same keys (camelCase, as KubeProxyConfiguration spells them).
 * Validated with zod; the first problem is one EINVAL naming the field.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { MODES } from '../dataplanes/types.js';
import { invalidField } from '../errors.js';
import { formatPath } from '../model/fields.js';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]*|[A-Za-z0-9.-]*):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:10256');
const cidr = z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'must be a CIDR such as 10.244.0.0/16');
const duration = z.string().regex(/^\d+(ms|s|m)$/, 'must be a duration such as 1s, 500ms or 1m');

export const agentConfigSchema = z.strictObject({
  hostnameOverride: z.string().min(1).optional(),
  clusterCIDR: cidr.optional(),
  masqueradeAll: z.boolean().default(false),
  proxyMode: z.enum(['auto', ...MODES]).default('auto'),
  /** accepted and passed through; see README: the dataplanes do not honour it yet */
  nodePortAddresses: z.array(z.union([cidr, z.literal('primary')])).default([]),
  healthzBindAddress: hostPort.default('0.0.0.0:10256'),
  metricsBindAddress: hostPort.default('127.0.0.1:10249'),
  kubeconfig: z.string().min(1).optional(),
  minSyncPeriod: duration.default('1s'),
  syncPeriod: duration.default('30s'),
  /** svcproxy's own: program only Services labelled service.kubernetes.io/service-proxy-name=<this> */
  serviceProxyName: z.string().min(1).optional(),
  /** svcproxy's own: network namespace the rules live in (tests) */
  netns: z.string().min(1).optional(),
  /** svcproxy's own: cgroup v2 directory bpf mode attaches to, and the bpffs it pins under */
  cgroup: z.string().min(1).optional(),
  bpffs: z.string().min(1).optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export type AgentConfig = z.infer<typeof agentConfigSchema>;
/** what a caller writes: every field optional, defaults filled in by the schema */
export type AgentConfigInput = z.input<typeof agentConfigSchema>;

/** Flags override the file; both go through the same schema. */
export async function loadAgentConfig(flags: Record<string, unknown>, file?: string): Promise<AgentConfig> {
  let fromFile: Record<string, unknown> = {};
  if (file) {
    const doc: unknown = parse(await readFile(file, 'utf8'));
    if (doc !== null && (typeof doc !== 'object' || Array.isArray(doc))) throw invalidField('(root)', 'must be a mapping of settings', file);
    fromFile = (doc ?? {}) as Record<string, unknown>;
  }
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  return parseAgentConfig({ ...fromFile, ...defined }, file);
}

export function parseAgentConfig(value: unknown, file?: string): AgentConfig {
  const r = agentConfigSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const problem = issue.code === 'unrecognized_keys' ? `unknown field ${JSON.stringify(issue.keys[0])}` : issue.message;
  throw invalidField(issue.code === 'unrecognized_keys' ? '(root)' : formatPath(issue.path), problem, file);
}

/** "1s" -> 1000 */
export function durationMs(d: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(d)!;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}
