import { describe, expect, it } from 'vitest';
import { umlCpu } from '../../src/sandbox/uml.js';

describe('umlCpu (the host CPU a UML guest is pinned to)', () => {
  it('takes the last CPU this process may run on', () => {
    const status = (list: string) => `Name:\tnode\nCpus_allowed:\tf\nCpus_allowed_list:\t${list}\nMems_allowed:\t1\n`;
    expect(umlCpu(status('0-1'))).toBe(1);
    expect(umlCpu(status('0,2-5'))).toBe(5);
    expect(umlCpu(status('3'))).toBe(3);
    expect(umlCpu('Name:\tnode\n')).toBeUndefined();
  });

  it('names a CPU of this machine', () => {
    expect(umlCpu()).toBeGreaterThanOrEqual(0);
  });
});
