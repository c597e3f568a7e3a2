/**
 * The svcproxy CLI: thin commands over the public API. A user mistake
 * prints one line and exits 2; a kernel or environment failure prints one
 * line with its code and exits 1; anything else is a bug and shows a stack.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { packageRoot } from '../native/binding.js';
import { SvcproxyError } from '../errors.js';
import { registerDemo } from './commands/demo.js';
import { registerDetect } from './commands/detect.js';
import { registerServices } from './commands/services.js';
import { registerSwitch } from './commands/switch.js';
import { registerExtras } from './commands/extras.js';
import { registerCompletion } from './completion.js';
import { registerAgent } from './commands/agent.js';

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return report(e);
  }
}

/** the whole command tree (completion scripts are generated from it) */
export async function buildProgram(): Promise<Command> {
  const program = new Command('svcproxy')
    .description('Kubernetes-style Service forwarding for Linux: iptables, nftables, IPVS and eBPF')
    .version((JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version)
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  registerDetect(program);
  registerServices(program);
  registerSwitch(program);
  registerDemo(program);
  registerAgent(program);
  await registerExtras(program);
  registerCompletion(program);
  return program;
}

function report(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  if (e instanceof SvcproxyError) {
    const user = e.code === 'EINVAL';
    console.error(`svcproxy: ${e.message.split('\n')[0]}${user ? '' : ` [${e.code}${e.op ? ` ${e.op}` : ''}${e.mode ? ` ${e.mode}` : ''}]`}`);
    return user ? 2 : 1;
  }
  console.error(e);
  return 70;
}
