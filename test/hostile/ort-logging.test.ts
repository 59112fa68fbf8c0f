import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAST_BENCH, runKiln, workspace } from '../helpers/kiln-cli.js';
import { onnxBuilders } from '../helpers/onnx-builders.js';

const { onnx } = onnxProto;

/** y = x·W with an initializer no node reads: ONNX Runtime always warns that it removes it. */
function modelWithUnusedInitializer(): Uint8Array {
  const { floats, tensor, info, node } = onnxBuilders(5);
  const graph = {
    name: 'unused_initializer',
    input: [info('x', [1, 8])],
    output: [info('y', [1, 8])],
    initializer: [tensor('W', [8, 8], floats(64)), tensor('UNUSED', [4], floats(4))],
    node: [node('MatMul', ['x', 'W'], ['y'])],
  };
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }], graph }),
  ).finish();
}

const config = `version: 1
models:
  - name: m
    path: model.onnx
    profiles:
      - name: b1
        shapes: { x: [1, 8] }
    golden: { samples: 2, seed: 3 }
${FAST_BENCH}`;

describe("ONNX Runtime's own log lines", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await workspace(config);
    await writeFile(path.join(dir, 'model.onnx'), modelWithUnusedInitializer());
  });

  it('stay off stderr without --verbose: only kiln’s lines, no colour codes', async () => {
    const run = await runKiln(['build', '--store', path.join(dir, 'quiet-store')], dir);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('onnxruntime:');
    expect(run.stderr).not.toContain('\u001b[');
    expect(run.stderr).toContain('1 built');
  }, 60_000);

  it('show ORT warnings with --verbose', async () => {
    const run = await runKiln(['build', '--store', path.join(dir, 'verbose-store'), '--verbose'], dir);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/W:onnxruntime:.*Removing initializer 'UNUSED'/);
  }, 60_000);
});
