/** Run sandbox set-up commands (ip, sysctl) and fail with their stderr. */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export async function sh(argv: string[], input?: string): Promise<string> {
  try {
    if (input !== undefined) return await withInput(argv, input);
    const { stdout } = await execFileP(argv[0]!, argv.slice(1), { maxBuffer: 64 << 20 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${argv.join(' ')}: ${(err.stderr || err.message).trim()}`);
  }
}

function withInput(argv: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0]!, argv.slice(1), { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve(stdout);
    });
    child.stdin!.end(input);
  });
}

/** Best-effort synchronous command for exit-time cleanup. */
export function shSync(argv: string[]): void {
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  } catch {
    // already gone
  }
}
