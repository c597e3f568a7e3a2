/** Commands that live in other folders (lab), registered when built. */
import type { Command } from 'commander';

export async function registerExtras(program: Command): Promise<void> {
  // Resolved at run time so the CLI works while the lab is not built in.
  const path = './lab.js';
  const lab = (await import(path).catch(() => undefined)) as { registerLab?: (p: Command) => void } | undefined;
  lab?.registerLab?.(program);
}
