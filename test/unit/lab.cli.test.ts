import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { vi } from 'vitest';
import { fixture } from './lab.fixture.js';
import { describe, expect, it } from 'vitest';
import { parseCountList, parseModes, parseNumber, registerLab } from '../../src/cli/commands/lab.js';
import { guestCommand } from '../../src/lab/uml.js';
import { resolveOptions } from '../../src/lab/run.js';

describe('svcproxy lab options', () => {
  it('parses comma lists of sizes, refusing bad ones by flag name', () => {
    expect(parseCountList('--services', '1,1000, 30000,1000', 1, 65000)).toEqual([1, 1000, 30000]);
    expect(() => parseCountList('--services', '1,x', 1, 65000)).toThrow(/^--services: expected comma-separated whole numbers 1..65000, got "1,x"$/);
    expect(() => parseCountList('--endpoints', '0', 1, 200)).toThrow(/^--endpoints:/);
    expect(() => parseNumber('--samples', '2.5', 10, 100)).toThrow(/^--samples: expected a whole number/);
    expect(parseNumber('--rate-seconds', '0.5', 0.1, 600, false)).toBe(0.5);
  });

  it('accepts only known modes', () => {
    expect(parseModes('iptables,ipvs')).toEqual(['iptables', 'ipvs']);
    expect(() => parseModes('iptables,userspace')).toThrow(/^--modes: unknown mode "userspace"/);
  });

  it('registers the lab subcommand with its flags', () => {
    const program = new Command();
    registerLab(program);
    const lab = program.commands.find((c) => c.name() === 'lab')!;
    const flags = lab.options.map((o) => o.long);
    for (const f of ['--services', '--endpoints', '--modes', '--out', '--json-out', '--markdown', '--no-progress', '--no-uml']) expect(flags).toContain(f);
  });

  it('defaults to sizes that finish in minutes', () => {
    const o = resolveOptions({});
    expect(o.services).toEqual([1, 1000, 10000]);
    expect(o.endpoints).toEqual([4]);
    expect(o.modes).toEqual(['iptables', 'nftables', 'ipvs', 'bpf']);
  });

  it('runs the same series inside User-Mode Linux, without recursing', () => {
    const cmd = guestCommand(['iptables', 'ipvs'], resolveOptions({ services: [1, 30000] }), '/var/tmp/x/uml.json');
    expect(cmd).toContain(`'--modes' 'iptables,ipvs'`);
    expect(cmd).toContain(`'--services' '1,30000'`);
    expect(cmd).toContain(`'--json-out' '/var/tmp/x/uml.json'`);
    expect(cmd).toContain(`'--no-uml'`);
  });

  it('renders the reports again from a results.json, measuring nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'svp-lab-cli-'));
    try {
      writeFileSync(join(dir, 'in.json'), JSON.stringify(fixture()));
      const program = new Command().exitOverride();
      registerLab(program);
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
      await program.parseAsync(['node', 'svcproxy', 'lab', '--report-from', join(dir, 'in.json'), '--out', join(dir, 'out'), '--markdown', join(dir, 'B.md')]);
      log.mockRestore();
      expect(readFileSync(join(dir, 'out', 'report.html'), 'utf8')).toContain('<svg ');
      expect(readFileSync(join(dir, 'B.md'), 'utf8')).toContain('## Targets from the mode issues');
      writeFileSync(join(dir, 'bad.json'), '{"schema":"other"}');
      await expect(program.parseAsync(['node', 'svcproxy', 'lab', '--report-from', join(dir, 'bad.json')])).rejects.toThrow(/^--report-from: .* is not a svcproxy lab results.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
