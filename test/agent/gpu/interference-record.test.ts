import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchWithIsolation } from '../../../runner-agent/src/gpu/bench-isolation.js';
import { InterferenceMonitor, type GpuSampler } from '../../../runner-agent/src/gpu/interference-monitor.js';
import {
  interferenceRecord,
  writeInterferenceRecord,
} from '../../../runner-agent/src/gpu/interference-record.js';
import { KilnError } from '../../../src/core/errors.js';
import { readResultsFile } from '../../../src/core/io/results-files.js';
import { RECORDED_H100 } from '../smi-stub.js';

/** A monitor whose GPU shows `neighbour` while it is set; sampling only at start and stop. */
function scriptedMonitor(state: { neighbour: boolean }): InterferenceMonitor {
  const foreign = process.pid + 1; // any pid but ours is foreign to a monitor without a process table
  const sampler: GpuSampler = {
    computeApps: async () =>
      state.neighbour
        ? [{ pid: foreign, processName: './gpu_burn', usedMiB: 15690, gpuUuid: RECORDED_H100 }]
        : [],
    utilization: async () => new Map([[RECORDED_H100, 97]]),
  };
  return new InterferenceMonitor({
    gpuUuid: RECORDED_H100,
    sampler,
    clock: { now: () => 0, sleep: () => new Promise(() => {}) },
  });
}

describe('interferenceRecord', () => {
  it('counts the neighbour of an attempt a retry recovered from, though the run is not marked interfered', async () => {
    const state = { neighbour: true };
    const outcome = await benchWithIsolation(
      async () => {
        state.neighbour = false; // the neighbour leaves during attempt 1; attempt 2 is clean
        return 0;
      },
      scriptedMonitor(state),
      { retries: 2 },
    );
    const record = interferenceRecord(
      { leased: RECORDED_H100, watchedUuid: RECORDED_H100, command: ['kiln', 'build', '--json', 'b.json'] },
      outcome,
    );
    expect(record).toMatchObject({
      schema: 'kiln.interference/v1',
      device: RECORDED_H100,
      attempts: 2,
      interfered: false,
      samples: 4,
      failedSamples: 0,
      command: 'kiln build --json b.json',
    });
    expect(record.events).toEqual([
      { at: new Date(0).toISOString(), pid: process.pid + 1, processName: './gpu_burn', usedMiB: 15690 },
    ]);
  });

  it('masks a credential on the command line', async () => {
    const outcome = await benchWithIsolation(async () => 0, scriptedMonitor({ neighbour: false }), {
      retries: 0,
    });
    const record = interferenceRecord(
      {
        leased: RECORDED_H100,
        watchedUuid: RECORDED_H100,
        command: ['curl', 'https://bot:hunter2-secret@example.com/x'],
      },
      outcome,
    );
    expect(record.command).not.toContain('hunter2-secret');
  });
});

describe('writeInterferenceRecord', () => {
  const record = {
    schema: 'kiln.interference/v1' as const,
    device: RECORDED_H100,
    gpuUuid: RECORDED_H100,
    command: 'true',
    attempts: 1,
    interfered: true,
    events: [{ at: '2026-01-01T00:00:00.000Z', pid: 11345, processName: './gpu_burn', usedMiB: 15690 }],
  };

  it('writes a record the results readers accept, leaving no temp file behind', async () => {
    const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'kiln-results-')), 'not-yet');
    const file = await writeInterferenceRecord(dir, record);
    expect(await readdir(dir)).toEqual([path.basename(file)]);
    expect((await readResultsFile(file)).interference).toEqual([record]);
  });

  it('a reader refuses a record whose sample count is not a count, naming the key', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-results-'));
    const file = path.join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ ...record, failedSamples: -1 }));
    await expect(readResultsFile(file)).rejects.toThrow(`${file}: failedSamples: found -1, expected`);
  });

  it("keeps the newest 500 records and never touches a job's build results", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-results-'));
    const old = Array.from({ length: 500 }, (_, i) => `interference-2020${String(i).padStart(4, '0')}.json`);
    await Promise.all(old.map((name) => writeFile(path.join(dir, name), '{}')));
    await writeFile(path.join(dir, 'build-1.json'), '{}');
    const file = await writeInterferenceRecord(dir, record, new Date('2026-01-01T00:00:00Z'));
    const names = await readdir(dir);
    expect(names).toHaveLength(501);
    expect(names).toContain('build-1.json');
    expect(names).toContain(path.basename(file));
    expect(names).not.toContain(old[0]);
    expect(names).toContain(old[1]);
  });

  it('names the folder when the record cannot be written', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-results-'));
    await writeFile(path.join(dir, 'a-file'), '');
    const spool = path.join(dir, 'a-file', 'results'); // ENOTDIR even for root
    const error = await writeInterferenceRecord(spool, record).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KilnError);
    expect((error as Error).message).toBe(`${spool}: cannot write the interference record (ENOTDIR)`);
  });
});
