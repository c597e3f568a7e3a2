/**
 * The bpf mode's part of the sandbox: a cgroup v2 directory created for the
 * test (programs attach only there, never to the hierarchy's root), a way to
 * run processes inside it, and a private bpffs mount for the pins, so tests
 * neither need nor touch the host's /sys/fs/bpf.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sh, shSync } from './shell.js';

export const CGROUP2_ROOT = '/sys/fs/cgroup/unified';

const liveCgroups = new Set<TestCgroup>();
const liveMounts = new Set<string>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of liveCgroups) c.removeSync();
    for (const m of liveMounts) {
      shSync(['umount', m]);
      try {
        rmdirSync(m);
      } catch {
        /* gone */
      }
    }
  });
}

export interface RunResult {
  code: number | null;
  out: string;
  err: string;
}

export class TestCgroup {
  private constructor(readonly path: string) {}

  /** mkdir <root>/<prefix>-<pid>-<random>: a fresh, empty cgroup of our own. */
  static create(prefix = 'svp-test', root = CGROUP2_ROOT): TestCgroup {
    const path = join(root, `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`);
    mkdirSync(path);
    const cg = new TestCgroup(path);
    hookExit();
    liveCgroups.add(cg);
    return cg;
  }

  /** argv with a prefix that joins this cgroup and then execs (never runs outside). */
  wrap(argv: string[], netns?: string): string[] {
    const inner = netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
    return ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', this.path, ...inner];
  }

  /** Run a command inside the cgroup (and a netns), wait for it, collect output. */
  run(argv: string[], opts: { netns?: string; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const full = this.wrap(argv, opts.netns);
    const child = spawn(full[0]!, full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    return new Promise((resolve) =>
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out, err });
      }),
    );
  }

  pids(): number[] {
    try {
      return readFileSync(join(this.path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Kill what is left inside (all of it was started by us), then rmdir. */
  async remove(): Promise<void> {
    this.removeSync();
    if (existsSync(this.path)) {
      await new Promise((r) => setTimeout(r, 100));
      this.removeSync();
    }
    if (existsSync(this.path)) throw new Error(`cannot remove test cgroup ${this.path}`);
  }

  removeSync(): void {
    if (!existsSync(this.path)) {
      liveCgroups.delete(this);
      return;
    }
    if (this.pids().length > 0) {
      try {
        writeFileSync(join(this.path, 'cgroup.kill'), '1');
      } catch {
        for (const pid of this.pids()) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* exited */
          }
        }
      }
    }
    try {
      rmdirSync(this.path);
      liveCgroups.delete(this);
    } catch {
      /* processes still exiting: remove() retries */
    }
  }
}

/** mount -t bpf on a fresh temp dir: pins vanish with the unmount. */
export async function mountPrivateBpffs(): Promise<{ path: string; unmount: () => Promise<void> }> {
  const path = mkdtempSync(join(tmpdir(), 'svp-bpffs-'));
  await sh(['mount', '-t', 'bpf', 'bpffs', path]);
  hookExit();
  liveMounts.add(path);
  return {
    path,
    unmount: async () => {
      await sh(['umount', path]);
      rmdirSync(path);
      liveMounts.delete(path);
    },
  };
}
