import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { FAST_BENCH, GENERATED, runKiln, workspace } from '../helpers/kiln-cli.js';

const config = `version: 1
models:
  - name: two-head
    path: model.onnx
    profiles: [{ name: b2, shapes: { x: [2, 8], ids: [2, 4] } }]
${FAST_BENCH}`;

it('a second job on the same host restores engines from the host cache; a corrupted entry is refused', async () => {
  const cache = await mkdtemp(path.join(os.tmpdir(), 'kiln-host-cache-'));
  const first = await workspace(config, { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
  const built = await runKiln(['build', '--host-cache', cache], first);
  expect(built.exitCode).toBe(0);
  expect(built.stderr).toContain('0 cache hits, 1 built');

  const second = await workspace(config, { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
  const restored = await runKiln(['build', '--host-cache', cache], second);
  expect(restored.exitCode).toBe(0);
  expect(restored.stderr).toMatch(/restored \w{12} from the host cache/);
  expect(restored.stderr).toContain('1 cache hits, 0 built');

  const [key] = await readdir(path.join(cache, 'entries'));
  await writeFile(path.join(cache, 'entries', key!, 'engine.ort'), 'tampered');
  const third = await workspace(config, { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
  const rebuilt = await runKiln(['build', '--host-cache', cache], third);
  expect(rebuilt.exitCode).toBe(0);
  expect(rebuilt.stderr).toMatch(/host cache entry \w{12} refused/);
  expect(rebuilt.stderr).toContain('0 cache hits, 1 built');
});
