import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeCpuIsa, relevantIsaFlags, type CpuIsa } from '../../src/backends/cpu-isa.js';
import { foreignIsa } from '../helpers/foreign-host.js';

const DIR = 'test/fixtures/cpuinfo';
const fixture = (name: string) => readFileSync(path.join(DIR, name), 'utf8');

const epyc = fixture('x86_64-amd-epyc.txt');
const a510 = fixture('arm64-pixel8-cortex-a510.txt');
const a715 = fixture('arm64-pixel8-cortex-a715.txt');

/** What the onnxruntime-cpu backend keys engines with (model is a label, not part of it). */
const fingerprint = (isa: CpuIsa) => ({ arch: isa.arch, isa: isa.features });

/** `text` with its flags/Features line replaced by `flags`. */
const withFlags = (text: string, flags: string[]) =>
  text.replace(
    /^(flags|Features)(\s*:).*$/m,
    (_, key: string, sep: string) => `${key}${sep} ${flags.join(' ')}`,
  );

describe('probeCpuIsa on x86_64 /proc/cpuinfo', () => {
  const isa = probeCpuIsa(epyc, 'x64');

  it('finds the vector ISA features ORT dispatches on', () => {
    expect(isa.arch).toBe('x64');
    expect(isa.features).toEqual(
      expect.arrayContaining([
        'avx',
        'avx2',
        'fma',
        'f16c',
        'avx512f',
        'avx512bw',
        'avx512vl',
        'avx512_vnni',
      ]),
    );
    expect(isa.features).toEqual(
      expect.arrayContaining(['avx512dq', 'avx512_bf16', 'ssse3', 'sse4_1', 'sse4_2']),
    );
  });

  it('does not report features this CPU lacks', () => {
    for (const absent of ['avx512_fp16', 'avx_vnni', 'amx_tile', 'amx_int8', 'amx_bf16']) {
      expect(isa.features).not.toContain(absent);
    }
  });

  it('ignores flags that do not decide engine portability', () => {
    for (const irrelevant of [
      'fpu',
      'hypervisor',
      'sse4a',
      'avx512cd',
      'avx512vbmi',
      'aes',
      'rdrand',
      'nx',
    ]) {
      expect(epyc).toMatch(new RegExp(`\\b${irrelevant}\\b`));
      expect(isa.features).not.toContain(irrelevant);
    }
    expect(isa.features.every((f) => /^(sse|ssse|avx|fma|f16c|amx)/.test(f))).toBe(true);
  });

  it('returns features sorted, and the model name as a label', () => {
    expect(isa.features).toEqual([...isa.features].sort());
    expect(isa.model).toBe('AMD EPYC');
  });

  it('reads the flags line, not the bugs or power management lines', () => {
    expect(epyc).toMatch(/^bugs\s*:/m);
    const noFlags = epyc.replace(/^flags\s*:.*\n/m, '');
    expect(probeCpuIsa(noFlags, 'x64').features).toEqual([]);
  });

  // Regression (was a bug in src/backends/cpu-isa.ts RELEVANT_FLAGS.x64): Linux prints SSE3 as `pni` in /proc/cpuinfo,
  // never as `sse3`, so the listed `sse3` feature can never be detected on any x86 CPU.
  it('detects SSE3, which Linux names "pni"', () => {
    expect(epyc).toMatch(/\bpni\b/);
    expect(isa.features).toContain('sse3');
  });
});

describe('probeCpuIsa on arm64 /proc/cpuinfo', () => {
  const isa = probeCpuIsa(a510, 'arm64');

  it('finds the NEON, dot-product, half-precision, i8mm and SVE features', () => {
    expect(isa.arch).toBe('arm64');
    expect(isa.features).toEqual(['asimd', 'asimddp', 'asimdhp', 'fphp', 'i8mm', 'sve', 'sve2']);
    expect(isa.model).toBe('0xd46');
  });

  it('matches whole words: svebf16 is not bf16', () => {
    expect(a510).toContain('svebf16');
    expect(isa.features).not.toContain('bf16');
    const withBf16 = probeCpuIsa(withFlags(a510, ['fp', 'asimd', 'bf16']), 'arm64');
    expect(withBf16.features).toEqual(['asimd', 'bf16']);
  });

  it('ignores the x86 list on arm and the arm list on x86', () => {
    expect(probeCpuIsa(a510, 'x64').features).toEqual([]);
    expect(probeCpuIsa(epyc, 'arm64').features).toEqual([]);
  });

  it('an architecture it has no list for has no features', () => {
    expect(probeCpuIsa(a510, 'riscv64').features).toEqual([]);
  });
});

describe('fingerprints', () => {
  it('two different cores with the same relevant features fingerprint equal', () => {
    const little = probeCpuIsa(a510, 'arm64');
    const big = probeCpuIsa(a715, 'arm64');
    expect(little.model).not.toBe(big.model);
    expect(fingerprint(big)).toEqual(fingerprint(little));
  });

  it('irrelevant flags, their order and other fields do not change the fingerprint', () => {
    const flags = epyc
      .match(/^flags\s*:(.*)$/m)![1]!
      .trim()
      .split(/\s+/);
    const otherHost = withFlags(
      epyc,
      [...flags].reverse().filter((f) => !['aes', 'hypervisor', 'rdrand'].includes(f)),
    )
      .replace(/^model name\s*:.*$/m, 'model name\t: AMD EPYC 7R13 Processor')
      .replace(/^cpu MHz\s*:.*$/m, 'cpu MHz\t\t: 3600.000')
      .replace(/^microcode\s*:.*$/m, 'microcode\t: 0xa0011d1');
    const a = probeCpuIsa(epyc, 'x64');
    const b = probeCpuIsa(otherHost, 'x64');
    expect(b.model).not.toBe(a.model);
    expect(fingerprint(b)).toEqual(fingerprint(a));
  });

  it('losing a relevant feature changes the fingerprint', () => {
    const flags = epyc
      .match(/^flags\s*:(.*)$/m)![1]!
      .trim()
      .split(/\s+/);
    const noAvx512 = withFlags(
      epyc,
      flags.filter((f) => !f.startsWith('avx512')),
    );
    const a = probeCpuIsa(epyc, 'x64');
    const b = probeCpuIsa(noAvx512, 'x64');
    expect(fingerprint(b)).not.toEqual(fingerprint(a));
    expect(b.features).toContain('avx2');
    expect(b.features.some((f) => f.startsWith('avx512'))).toBe(false);
  });

  it('with no cpuinfo at all, no features', () => {
    expect(probeCpuIsa('', 'x64').features).toEqual([]);
  });
});

describe('foreignIsa (the test helper that fabricates another CPU)', () => {
  const flagsOf = (text: string) =>
    text
      .match(/^flags\s*:(.*)$/m)![1]!
      .trim()
      .split(/\s+/);

  it.each([
    ['an AVX-512 host without AVX-VNNI', flagsOf(epyc)],
    ['an AVX-VNNI host without AVX-512', ['sse3', 'avx', 'avx2', 'fma', 'avx_vnni']],
    ['a host with every relevant flag', [...relevantIsaFlags('x64')]],
    ['a host with none', []],
  ])('differs from %s, and says how', (_, flags) => {
    const host = probeCpuIsa(withFlags(epyc, flags), 'x64').features;
    const other = foreignIsa(host, 'x64');
    expect(other.isa).not.toEqual(host);
    if (other.removed) expect(host).toContain(other.removed);
    if (other.removed) expect(other.isa).not.toContain(other.removed);
    if (other.added) expect(host).not.toContain(other.added);
    if (other.added) expect(other.isa).toContain(other.added);
  });

  it('differs from the CPU running this test', () => {
    expect(foreignIsa().isa).not.toEqual(probeCpuIsa().features);
  });
});
