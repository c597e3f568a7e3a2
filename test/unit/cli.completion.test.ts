/** Completion scripts come from the commander tree: every command and its options, and bash parses them. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bashCompletion, zshCompletion } from '../../src/cli/completion.js';
import { buildProgram } from '../../src/cli/main.js';

describe('svcproxy completion', () => {
  it('bash: completes commands and the options of each command', async () => {
    const script = bashCompletion(await buildProgram());
    const complete = (line: string) =>
      execFileSync('bash', ['-c', `${script}\nCOMP_WORDS=(${line}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _svcproxy; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' })
        .trim()
        .split('\n');
    expect(complete('svcproxy ""')).toEqual(expect.arrayContaining(['apply', 'cleanup', 'completion', 'detect', 'diff', 'status', 'switch']));
    expect(complete('svcproxy cleanup --j')).toEqual(['--json']);
    expect(complete('svcproxy apply --dr')).toEqual(['--dry-run']);
    expect(complete('svcproxy status --q')).toEqual(['--quiet']);
  });

  it('zsh: a compdef script naming every command and its options', async () => {
    const program = await buildProgram();
    const script = zshCompletion(program);
    expect(script.startsWith('#compdef svcproxy\n')).toBe(true);
    for (const c of program.commands) expect(script).toContain(`    ${c.name()}) _values 'option'`);
    expect(script).toMatch(/apply\) _values 'option' .*'--dry-run'/);
  });

  it('every command that prints state takes --json and --quiet', async () => {
    const program = await buildProgram();
    for (const name of ['detect', 'apply', 'diff', 'status', 'cleanup', 'switch']) {
      const longs = program.commands.find((c) => c.name() === name)!.options.map((o) => o.long);
      expect(longs, name).toEqual(expect.arrayContaining(['--json', '--quiet']));
    }
  });
});
