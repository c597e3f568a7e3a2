import { defineConfig } from 'vitest/config';

// unit: no privileges, fakes only. priv: real kernel on this host (root,
// fresh network namespaces). uml: suites that need IPVS / iptables-legacy,
// run inside the User-Mode Linux kernel when the host lacks IPVS.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000, sequence: { groupOrder: 0 } } },
      {
        test: {
          name: 'priv',
          include: ['test/priv/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'uml',
          include: ['test/uml/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
