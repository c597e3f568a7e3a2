import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseAgentConfig } from '../../src/agent/config.js';

type Doc = { kind: string; metadata: { name: string; namespace?: string } } & Record<string, any>;
const root = new URL('../../', import.meta.url).pathname;
const docs = parseAllDocuments(readFileSync(`${root}deploy/daemonset.yaml`, 'utf8')).map((d) => d.toJS() as Doc);
const byKind = (kind: string) => docs.find((d) => d.kind === kind)!;

/** verbs granted for a resource in a ClusterRole */
function verbs(role: Doc, group: string, resource: string): string[] {
  return role.rules.filter((r: any) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r: any) => r.verbs as string[]);
}

describe('deploy/daemonset.yaml', () => {
  it('grants what the agent reads: list/watch Services, EndpointSlices and Nodes, get Nodes', () => {
    const role = byKind('ClusterRole');
    expect(verbs(role, '', 'services')).toEqual(expect.arrayContaining(['list', 'watch']));
    expect(verbs(role, 'discovery.k8s.io', 'endpointslices')).toEqual(expect.arrayContaining(['list', 'watch']));
    expect(verbs(role, '', 'nodes')).toEqual(expect.arrayContaining(['get', 'list', 'watch']));
    // and nothing that writes what it watches
    for (const r of role.rules) for (const v of r.verbs) expect(['get', 'list', 'watch', 'create', 'patch']).toContain(v);
    expect(role.rules.filter((r: any) => r.verbs.includes('create')).flatMap((r: any) => r.resources)).toEqual(['events']);
    const binding = byKind('ClusterRoleBinding');
    const sa = byKind('ServiceAccount');
    expect(binding.roleRef).toMatchObject({ kind: 'ClusterRole', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
  });

  it('runs privileged on the host network with the mounts the modes need, probed on /healthz and /livez :10256', () => {
    const ds = byKind('DaemonSet');
    const pod = ds.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.serviceAccountName).toBe(byKind('ServiceAccount').metadata.name);
    const c = pod.containers[0];
    expect(c.securityContext.privileged).toBe(true);
    const mounts = new Map<string, any>(c.volumeMounts.map((m: any) => [m.mountPath, m]));
    for (const path of ['/run', '/sys/fs/bpf', '/lib/modules', '/sys/fs/cgroup']) expect(mounts.has(path), path).toBe(true);
    expect(mounts.get('/lib/modules').readOnly).toBe(true);
    const hostPaths = new Map<string, string>(pod.volumes.filter((v: any) => v.hostPath).map((v: any) => [v.name, v.hostPath.path]));
    for (const path of ['/run', '/sys/fs/bpf', '/lib/modules', '/sys/fs/cgroup']) expect(hostPaths.get(mounts.get(path).name)).toBe(path);
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/healthz', port: 10256 });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/livez', port: 10256 });
    expect(c.args).toContain('--hostname-override=$(NODE_NAME)');
  });

  it("ships a config the agent's own schema accepts, and a Containerfile whose entrypoint is the agent", () => {
    const cm = byKind('ConfigMap');
    const cfg = parseAgentConfig((parseAllDocuments(cm.data['config.yaml'])[0]!.toJS() as object) ?? {});
    expect(cfg.healthzBindAddress).toBe('0.0.0.0:10256');
    const containerfile = readFileSync(`${root}Containerfile`, 'utf8');
    expect(containerfile).toMatch(/^FROM docker\.io\/library\/node:20-bookworm/m);
    expect(containerfile).toMatch(/libnftables1 libbpf1 libmnl0/); // what src/native/binding.ts names for run time
    expect(containerfile).toMatch(/npm install --omit=dev/);
    expect(containerfile).toMatch(/^ENTRYPOINT \[".*svcproxy", "agent"\]$/m);
  });
});
