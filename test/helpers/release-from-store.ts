/**
 * Real releases for deploy tests: small ONNX models built into ORT CPU engines by the real `kiln
 * build`, then published from the store with the real release writer. Versions of one model differ
 * in graph (and so in key) but compute the same function, except where a test wants otherwise.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { listFiles, sha256File } from '../../src/core/io/file-hashing.js';
import { compareText } from '../../src/core/ordering.js';
import type { BuildResults } from '../../src/core/results.js';
import { LocalStore } from '../../src/store/local-store.js';
import type { ReleaseRecord } from '../../src/store/release/release-record.js';
import { writeRelease } from '../../src/store/release/release-writer.js';
import { FAST_BENCH, runKiln, workspace } from './kiln-cli.js';
import { onnxBuilders } from './onnx-builders.js';

const { onnx } = onnxProto;

/** Width of x and y: `x [1, WIDTH] → y [1, WIDTH]`. */
export const WIDTH = 64;

/**
 * The graphs a deploy test needs, all `y = x·W` for the same W:
 * - `fast`: one MatMul;
 * - `fastToo`: the same MatMul in a graph of another name: another model hash and key, the same
 *   work, so comparing it with `fast` is an A/A run;
 * - `slow`: adds Relu(x·P)·Q with an 8192-wide hidden layer and Q = 0, so y is bit-identical while
 *   every run does ~250× the arithmetic: a latency regression no noise can hide.
 */
export type DeployModelKind = 'fast' | 'fastToo' | 'slow';

/** Encodes the `kind` model. */
export function deployModel(kind: DeployModelKind): Uint8Array {
  const { floats, tensor, info, node } = onnxBuilders(42);
  const w = tensor('W', [WIDTH, WIDTH], floats(WIDTH * WIDTH, 0.5));
  const nodes: Onnx.INodeProto[] = [];
  const initializer: Onnx.ITensorProto[] = [w];
  if (kind === 'fast' || kind === 'fastToo') nodes.push(node('MatMul', ['x', 'W'], ['y']));
  if (kind === 'slow') {
    const hidden = 8192;
    initializer.push(
      tensor('P', [WIDTH, hidden], floats(WIDTH * hidden, 0.1)),
      tensor('Q', [hidden, WIDTH], new Array<number>(hidden * WIDTH).fill(0)),
    );
    nodes.push(
      node('MatMul', ['x', 'W'], ['xw']),
      node('MatMul', ['x', 'P'], ['h']),
      node('Relu', ['h'], ['hr']),
      node('MatMul', ['hr', 'Q'], ['z']),
      node('Add', ['xw', 'z'], ['y']),
    );
  }
  const graph: Onnx.IGraphProto = {
    name: `deploy_${kind}`,
    input: [info('x', [1, WIDTH])],
    output: [info('y', [1, WIDTH])],
    initializer,
    node: nodes,
  };
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }], graph }),
  ).finish();
}

/**
 * Builds each version's model with `kiln build` (one workspace, one store) and publishes it as
 * `<releases>/<model>/<version>/`. Returns the workspace; releases are under `<dir>/releases`.
 */
export async function buildReleases(
  model: string,
  versions: Record<string, DeployModelKind>,
): Promise<{ dir: string; releases: string }> {
  const dir = await workspace('version: 1\nmodels: []\n');
  const releases = path.join(dir, 'releases');
  const store = new LocalStore(path.join(dir, '.kiln', 'store'));
  for (const [version, kind] of Object.entries(versions)) {
    await writeFile(path.join(dir, `${version}.onnx`), deployModel(kind));
    const config = `version: 1
models:
  - name: ${model}
    path: ${version}.onnx
    profiles:
      - name: b1
        shapes: { x: [1, ${WIDTH}] }
    golden: { samples: 2, seed: 3 }
${FAST_BENCH}`;
    await writeFile(path.join(dir, `kiln-${version}.yaml`), config);
    const run = await runKiln(
      ['build', '--config', `kiln-${version}.yaml`, '--json', `build-${version}.json`],
      dir,
    );
    if (run.exitCode !== 0) throw new Error(`kiln build of ${model}@${version} failed: ${run.stderr}`);
    const results = JSON.parse(
      await readFile(path.join(dir, `build-${version}.json`), 'utf8'),
    ) as BuildResults;
    const candidates = [];
    for (const engine of results.engines) {
      const found = await store.lookup(model, engine.key);
      if (found.status !== 'hit') throw new Error(`${model}@${version}: ${engine.key} not in the store`);
      candidates.push({ artifact: found.artifact });
    }
    await writeRelease({ root: releases, model, version, candidates });
  }
  return { dir, releases };
}

/**
 * Re-hashes every file listed in `<releaseDir>/release.json` (after a test changed a file on
 * purpose), so that only the deploy's own checks, not the hash check, can catch the change.
 */
export async function rehashRelease(releaseDir: string, changes: Partial<ReleaseRecord> = {}): Promise<void> {
  const file = path.join(releaseDir, 'release.json');
  const record = { ...(JSON.parse(await readFile(file, 'utf8')) as ReleaseRecord), ...changes };
  for (const engine of record.engines) {
    const dir = path.join(releaseDir, engine.dir);
    engine.files = [];
    for (const rel of (await listFiles(dir)).sort(compareText)) {
      const bytes = (await readFile(path.join(dir, rel))).byteLength;
      engine.files.push({ path: rel, sha256: await sha256File(path.join(dir, rel)), bytes });
    }
  }
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
}
