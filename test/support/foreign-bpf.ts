/** A BPF program svcproxy does not own, attached to a test cgroup, to prove it survives. */
import { rmSync, writeFileSync } from 'node:fs';
import { sh } from '../../src/sandbox/shell.js';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("cgroup/connect4") int foreign_connect4(struct bpf_sock_addr *ctx) { return 1; }
`;

export interface ForeignProgram {
  pin: string;
  /** the program's kernel id (bpftool prog show pinned) */
  id(): Promise<number>;
}

/** Compile with clang, load with bpftool under `bpffs`, attach (multi) to `cgroup`. */
export async function attachForeignConnect4(bpffs: string, cgroup: string): Promise<ForeignProgram> {
  const src = `${bpffs}.foreign.bpf.c`;
  writeFileSync(src, SOURCE);
  try {
    await sh(['clang-14', '-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', `${src}.o`]);
    const pin = `${bpffs}/foreign_connect4`;
    await sh(['bpftool', 'prog', 'load', `${src}.o`, pin, 'type', 'cgroup/connect4']);
    await sh(['bpftool', 'cgroup', 'attach', cgroup, 'connect4', 'pinned', pin, 'multi']);
    return { pin, id: async () => (JSON.parse(await sh(['bpftool', '-j', 'prog', 'show', 'pinned', pin])) as { id: number }).id };
  } finally {
    rmSync(src, { force: true });
    rmSync(`${src}.o`, { force: true });
  }
}

/** ids of the programs attached to a cgroup */
export async function cgroupProgramIds(cgroup: string): Promise<{ id: number; name: string }[]> {
  return JSON.parse(await sh(['bpftool', '-j', 'cgroup', 'show', cgroup])) as { id: number; name: string }[];
}
