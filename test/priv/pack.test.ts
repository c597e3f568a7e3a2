/** The release path in CI: scripts/pack-test.sh packs, installs without a compiler and applies in a closed namespace. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('npm pack + install without a compiler', () => {
  it('loads, detects and applies in a test namespace', async () => {
    const r = await run('bash', ['scripts/pack-test.sh'], { maxBuffer: 16 << 20 }).catch((e: { stdout?: string; stderr?: string }) => {
      throw new Error(`pack-test failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    });
    expect(r.stdout.trim().split('\n').at(-1)).toBe('pack-test: ok');
  }, 240_000);
});
