import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { sha256 } from '../../src/core/hashing.js';
import { verifyArtifact, type HostLookup } from '../../src/pipeline/verify-artifact.js';

const A10G = { kind: 'gpu', computeCapability: '8.6', driverMajor: 535, cuda: '12.2', tensorrt: '10.3.0' };
const H100 = { kind: 'gpu', computeCapability: '9.0', driverMajor: 550, cuda: '12.4', tensorrt: '10.3.0' };

/** A store-shaped artifact folder `<store>/<model>/<key>` with a small engine file. */
async function artifact(
  store: string,
  key: string,
  hardware: Record<string, unknown>,
  overrides: { precision?: string; engine?: string } = {},
): Promise<string> {
  const dir = path.join(store, 'ocr-det', key);
  await mkdir(dir, { recursive: true });
  const bytes = overrides.engine ?? `plan for ${key}`;
  await writeFile(path.join(dir, 'engine.plan'), bytes);
  const record = {
    schema: 'kiln.artifact/v1',
    model: 'ocr-det',
    profile: 's384',
    precision: overrides.precision ?? 'fp16',
    key,
    keyInputs: {},
    tags: { backend: 'tensorrt', backendVersion: String(hardware.tensorrt), hardware, kilnVersion: '0.1.0' },
    engine: { file: 'engine.plan', sha256: sha256(`plan for ${key}`), bytes: bytes.length },
  };
  await writeFile(path.join(dir, 'artifact.json'), JSON.stringify(record));
  return dir;
}

const host =
  (hardware: Record<string, unknown>): HostLookup =>
  async () => ({ available: true, hardware, backendVersion: String(hardware.tensorrt) });

describe('verifyArtifact', () => {
  it('accepts an engine on the hardware that built it', async () => {
    const store = await mkdtemp(path.join(tmpdir(), 'kiln-verify-'));
    const dir = await artifact(store, 'a'.repeat(64), H100);
    const outcome = await verifyArtifact(dir, host(H100));
    expect(outcome.ok).toBe(true);
    expect(outcome.message).toContain('matches this host (GPU compute capability 9.0');
  });

  it('refuses an A10G engine on an H100 naming both sides and the engine to use instead', async () => {
    const store = await mkdtemp(path.join(tmpdir(), 'kiln-verify-'));
    const a10g = await artifact(store, 'a'.repeat(64), A10G);
    const h100 = await artifact(store, 'b'.repeat(64), H100);
    await artifact(store, 'c'.repeat(64), H100, { precision: 'fp32' }); // another precision: not a substitute
    const outcome = await verifyArtifact(path.join(a10g, 'artifact.json'), host(H100), [path.dirname(a10g)]);
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toContain('ocr-det/s384/fp16 (aaaaaaaaaaaa) does not match this host');
    expect(outcome.message).toContain('compute capability 8.6 (engine) vs 9.0 (this host)');
    // A newer driver on this host is no mismatch: the driver is a minimum.
    expect(outcome.message).not.toContain('driver');
    expect(outcome.message).not.toContain('CUDA');
    expect(outcome.message).not.toContain('TensorRT 10.3.0 (engine)');
    expect(outcome.message).toContain(`use ${h100} (built for this host) instead`);
    expect(outcome.alternative).toBe(h100);
  });

  it('refuses a host whose driver is older than the build host, naming both', async () => {
    const store = await mkdtemp(path.join(tmpdir(), 'kiln-verify-'));
    const dir = await artifact(store, 'a'.repeat(64), H100);
    const newer = await verifyArtifact(dir, host({ ...H100, driverMajor: 560, cuda: '12.6' }));
    expect(newer.ok).toBe(true);
    const older = await verifyArtifact(dir, host({ ...H100, driverMajor: 535, cuda: '12.2' }));
    expect(older.ok).toBe(false);
    expect(older.message).toContain(
      "driver major 535 on this host is older than 550, the engine's build host: the engine needs at least 550",
    );
    expect(older.message).toContain('CUDA 12.2 on this host is older than 12.4');
  });

  it('a version-compatible plan loads on a later TensorRT of the same major, not an earlier or the next major', async () => {
    const store = await mkdtemp(path.join(tmpdir(), 'kiln-verify-'));
    const dir = await artifact(store, 'a'.repeat(64), { ...H100, versionCompatible: true });
    const later = await verifyArtifact(dir, host({ ...H100, tensorrt: '10.8.0' }));
    expect([later.ok, later.message]).toEqual([true, expect.stringContaining('matches this host')]);
    for (const tensorrt of ['10.2.0', '11.0.0']) {
      const outcome = await verifyArtifact(dir, host({ ...H100, tensorrt }));
      expect(outcome.ok).toBe(false);
      expect(outcome.message).toContain(`TensorRT 10.3.0 (engine) vs ${tensorrt} (this host)`);
    }
  });

  it('names a TensorRT version mismatch, and says when no substitute exists', async () => {
    const store = await mkdtemp(path.join(tmpdir(), 'kiln-verify-'));
    const dir = await artifact(store, 'a'.repeat(64), H100);
    const outcome = await verifyArtifact(dir, host({ ...H100, tensorrt: '10.8.0' }), [path.dirname(dir)]);
    expect(outcome.message).toContain('TensorRT 10.3.0 (engine) vs 10.8.0 (this host)');
    expect(outcome.message).toContain('tensorrt version 10.3.0 (engine) vs 10.8.0 (this host)');
    expect(outcome.message).toContain('no engine for this host was found');
  });

  it('says what the host lacks when it cannot run the backend at all', async () => {
    const store = await mkdtemp(path.join(tmpdir(), 'kiln-verify-'));
    const dir = await artifact(store, 'a'.repeat(64), A10G);
    const outcome = await verifyArtifact(dir, async () => ({
      available: false,
      reason: 'trtexec not on PATH',
    }));
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toContain('this host cannot run tensorrt (trtexec not on PATH)');
    expect(outcome.message).toContain('the engine needs GPU compute capability 8.6, driver 535, CUDA 12.2');
  });

  it('lists the CPU ISA flags that differ', async () => {
    const store = await mkdtemp(path.join(tmpdir(), 'kiln-verify-'));
    const cpu = { kind: 'cpu', arch: 'x64', isa: ['avx', 'avx2', 'avx512f', 'fma'] };
    const dir = await artifact(store, 'a'.repeat(64), cpu);
    const outcome = await verifyArtifact(dir, async () => ({
      available: true,
      hardware: { ...cpu, isa: ['avx', 'avx2', 'avx_vnni', 'fma'] },
      backendVersion: 'undefined',
    }));
    expect(outcome.message).toContain(
      'CPU ISA: engine needs avx512f which this host lacks; this host adds avx_vnni',
    );
  });

  it('refuses a tampered engine before looking at the hardware', async () => {
    const store = await mkdtemp(path.join(tmpdir(), 'kiln-verify-'));
    const dir = await artifact(store, 'a'.repeat(64), H100, { engine: 'tampered plan bytes' });
    const error = await verifyArtifact(dir, host(H100)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/engine\.plan: sha256 \w{12} differs from artifact\.json's/);
  });

  it('refuses a folder without artifact.json in one line', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kiln-verify-'));
    await expect(verifyArtifact(dir, host(H100))).rejects.toThrow(
      /artifact\.json: not found \(expected an artifact folder/,
    );
  });
});
