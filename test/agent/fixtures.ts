import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureRunner, type FixtureAnswer } from '../../src/backends/host/command-runner.js';
import { probeHost, type HostProbe } from '../../src/backends/host/host-probe.js';
import { GPU_QUERY_FIELDS, queryArgs } from '../../src/backends/host/nvidia-smi.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** A recorded nvidia-smi output (test/fixtures/nvidia-smi, sources in its README). */
export function smi(name: string): string {
  return readFileSync(path.join(fixtures, 'nvidia-smi', name), 'utf8');
}

/** A recorded trtexec log (test/fixtures/trtexec, sources in its README). */
export function trt(name: string): string {
  return readFileSync(path.join(fixtures, 'trtexec', name), 'utf8');
}

/** The command line host-probe uses for the GPU query. */
export const GPU_QUERY = ['nvidia-smi', ...queryArgs('gpu', GPU_QUERY_FIELDS)].join(' ');

/** The cpuinfo fixture used for every fixture host, so labels do not depend on this machine. */
export const EPYC_CPUINFO = readFileSync(path.join(fixtures, 'cpuinfo', 'x86_64-amd-epyc.txt'), 'utf8');

export interface FixtureHost {
  query?: FixtureAnswer;
  q?: FixtureAnswer;
  table?: FixtureAnswer;
  trtexec?: FixtureAnswer;
  ldconfig?: FixtureAnswer;
  /** `nvidia-smi -L` output. */
  list?: FixtureAnswer;
  /** `ldd <trtexec>` output. */
  ldd?: FixtureAnswer;
  /** Symlink targets the probe may resolve; any other path reads as missing (never this machine's). */
  realpath?: Record<string, string>;
}

/** Probes a host whose tools answer with recorded output; anything not given is absent. */
export function probeFixtureHost(host: FixtureHost): Promise<HostProbe> {
  const map: Record<string, FixtureAnswer> = {};
  if (host.query !== undefined) map[GPU_QUERY] = host.query;
  if (host.q !== undefined) map['nvidia-smi -q'] = host.q;
  if (host.table !== undefined) map['nvidia-smi'] = host.table;
  if (host.trtexec !== undefined) map['trtexec --version'] = host.trtexec;
  if (host.ldconfig !== undefined) map['ldconfig -p'] = host.ldconfig;
  if (host.ldd !== undefined) map.ldd = host.ldd;
  if (host.list !== undefined) map['nvidia-smi -L'] = host.list;
  const links = host.realpath ?? {};
  return probeHost(fixtureRunner(map), {
    realpath: async (file) => {
      const target = links[file];
      if (target === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
      return target;
    },
    cpuinfo: EPYC_CPUINFO,
    arch: 'x64',
    platform: 'linux',
    release: '5.15.0',
  });
}

/** The recorded hosts: nvidia-smi query/-q from one capture, trtexec from a real banner. */
export const HOSTS = {
  h100: () =>
    probeFixtureHost({
      query: smi('h100-80gb-hbm3.query-gpu.csv'),
      q: smi('h100-80gb-hbm3.q.txt'),
      trtexec: trt('trt10.3.0-orin-int8.log'),
    }),
  h100Mig: () => probeFixtureHost({ query: smi('h100-mig.query-gpu.csv'), q: smi('h100-mig.q.txt') }),
  h200: () => probeFixtureHost({ query: smi('h200.query-gpu.csv'), q: smi('h200.q.txt') }),
  l40s: () => probeFixtureHost({ query: smi('l40s.query-gpu.csv'), q: smi('l40s.q.txt') }),
  rtx2080: () =>
    probeFixtureHost({ query: smi('rtx-2080-super.query-gpu.csv'), q: smi('rtx-2080-super.q.txt') }),
};
