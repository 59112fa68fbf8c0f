import { readFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuildResults } from '../../src/core/results.js';
import { assertLoadableOps } from '../../src/backends/model/op-domain-check.js';
import { FAST_BENCH, runKiln, workspace } from '../helpers/kiln-cli.js';
import { DataType, node, tensorInfo, writeModel } from './model-files.js';

const { GRAPH, INT } = onnxProto.onnx.AttributeProto.AttributeType;
const { FLOAT, BOOL, INT64 } = DataType;

const graphAttr = (name: string, g: Onnx.IGraphProto): Onnx.IAttributeProto => ({ name, type: GRAPH, g });
const intAttr = (name: string, i: number): Onnx.IAttributeProto => ({ name, type: INT, i });
const scalar = (name: string, dataType: number, value: number): Onnx.ITensorProto =>
  dataType === INT64
    ? { name, dims: [], dataType, int64Data: [value] }
    : dataType === BOOL
      ? { name, dims: [], dataType, int32Data: [value] }
      : { name, dims: [], dataType, floatData: [value] };

/** y = If(cond) then Relu(x) else Neg(x); both branches read x from the outer scope, shape [N,3]. */
function ifModel(dir: string): Promise<string> {
  const branch = (op: string, out: string): Onnx.IGraphProto => ({
    name: `${op}_branch`,
    node: [node(op, ['x'], [out])],
    output: [tensorInfo(out, FLOAT, ['N', 3])],
    valueInfo: [],
  });
  return writeModel(dir, 'if.onnx', {
    input: [tensorInfo('x', FLOAT, ['N', 3]), tensorInfo('cond', BOOL, [])],
    output: [tensorInfo('y', FLOAT, ['N', 3])],
    node: [
      {
        ...node('If', ['cond'], ['y']),
        attribute: [
          graphAttr('then_branch', branch('Relu', 'then_y')),
          graphAttr('else_branch', branch('Neg', 'else_y')),
        ],
      },
    ],
  });
}

/** y = x added to itself 4 times by a Loop whose body reads x from the outer scope. */
function loopModel(dir: string): Promise<string> {
  const body: Onnx.IGraphProto = {
    name: 'loop_body',
    input: [tensorInfo('i', INT64, []), tensorInfo('c_in', BOOL, []), tensorInfo('acc', FLOAT, ['N', 3])],
    output: [tensorInfo('c_out', BOOL, []), tensorInfo('acc_out', FLOAT, ['N', 3])],
    node: [node('Identity', ['c_in'], ['c_out']), node('Add', ['acc', 'x'], ['acc_out'])],
    valueInfo: [tensorInfo('acc_out', FLOAT, ['N', 3])],
  };
  return writeModel(dir, 'loop.onnx', {
    input: [tensorInfo('x', FLOAT, ['N', 3])],
    output: [tensorInfo('y', FLOAT, ['N', 3])],
    initializer: [scalar('trips', INT64, 4), scalar('go', BOOL, 1)],
    node: [{ ...node('Loop', ['trips', 'go', 'x'], ['y']), attribute: [graphAttr('body', body)] }],
  });
}

/** Running sum over the rows of x: Scan with one state [3] and one scan input/output along axis 0. */
function scanModel(dir: string): Promise<string> {
  const body: Onnx.IGraphProto = {
    name: 'scan_body',
    input: [tensorInfo('s_in', FLOAT, [3]), tensorInfo('row', FLOAT, [3])],
    output: [tensorInfo('s_out', FLOAT, [3]), tensorInfo('row_out', FLOAT, [3])],
    node: [node('Add', ['s_in', 'row'], ['s_out']), node('Identity', ['s_out'], ['row_out'])],
  };
  return writeModel(dir, 'scan.onnx', {
    input: [tensorInfo('x', FLOAT, ['N', 3])],
    output: [tensorInfo('total', FLOAT, [3]), tensorInfo('cumsum', FLOAT, ['N', 3])],
    initializer: [{ name: 's0', dims: [3], dataType: FLOAT, floatData: [0, 0, 0] }],
    node: [
      {
        ...node('Scan', ['s0', 'x'], ['total', 'cumsum']),
        attribute: [graphAttr('body', body), intAttr('num_scan_inputs', 1)],
      },
    ],
  });
}

const CONTROL_FLOW = ['if', 'loop', 'scan'] as const;
const config =
  `version: 1\nmodels:\n` +
  CONTROL_FLOW.map(
    (m) => `  - name: ${m}\n    path: ${m}.onnx\n    profiles: [{ name: b4, shapes: { x: [4, 3] } }]\n`,
  ).join('') +
  FAST_BENCH;

describe('If / Loop / Scan graphs pin their dynamic batch and build through kiln build', () => {
  let dir: string;
  let first: { exitCode: number; stderr: string };
  let results: BuildResults;

  beforeAll(async () => {
    dir = await workspace(config);
    await Promise.all([ifModel(dir), loopModel(dir), scanModel(dir)]);
    first = await runKiln(['build', '--json', 'out/first.json'], dir);
    results = JSON.parse(await readFile(path.join(dir, 'out/first.json'), 'utf8')) as BuildResults;
  }, 120_000);

  it('compiles and golden-checks each, outputs at the pinned batch (subgraph shapes intact)', () => {
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.exitCode).toBe(0);
    expect(results.engines.map((e) => [e.model, e.cache, e.golden.pass])).toEqual(
      CONTROL_FLOW.map((m) => [m, 'miss', true]),
    );
    const shapes = Object.fromEntries(
      results.engines.map((e) => [e.model, e.golden.outputs.map((o) => [o.output, o.shape])]),
    );
    expect(shapes).toEqual({
      if: [['y', [4, 3]]],
      loop: [['y', [4, 3]]],
      scan: [
        ['total', [3]],
        ['cumsum', [4, 3]],
      ],
    });
  });

  it('a rerun is a cache hit for every control-flow engine', async () => {
    const again = await runKiln(['build', '--json', 'out/again.json'], dir);
    expect(again.exitCode).toBe(0);
    const rerun = JSON.parse(await readFile(path.join(dir, 'out/again.json'), 'utf8')) as BuildResults;
    expect(rerun.engines.map((e) => [e.key, e.cache])).toEqual(results.engines.map((e) => [e.key, 'hit']));
  }, 60_000);
});

const customConfig = (file: string) =>
  `version: 1\nmodels:\n  - name: m\n    path: ${file}\n    profiles: [{ name: b2, shapes: { x: [2, 3] } }]\n` +
  FAST_BENCH;

describe('custom-domain ops', () => {
  it('refuses an op in a domain ONNX Runtime cannot load, in one line naming op, domain and file (exit 2)', async () => {
    const dir = await workspace(customConfig('models/fancy.onnx'));
    // The custom node sits inside an If branch, so only a walk into subgraphs finds it.
    const fancy: Onnx.IGraphProto = {
      name: 'fancy_branch',
      node: [{ ...node('FancyOp', ['x'], ['f']), domain: 'com.example' }],
      output: [tensorInfo('f', FLOAT, ['N', 3])],
    };
    const plain: Onnx.IGraphProto = {
      name: 'plain_branch',
      node: [node('Identity', ['x'], ['p'])],
      output: [tensorInfo('p', FLOAT, ['N', 3])],
    };
    await writeModel(
      path.join(dir, 'models'),
      'fancy.onnx',
      {
        input: [tensorInfo('x', FLOAT, ['N', 3])],
        output: [tensorInfo('y', FLOAT, ['N', 3])],
        initializer: [scalar('yes', BOOL, 1)],
        node: [
          {
            ...node('If', ['yes'], ['y']),
            attribute: [graphAttr('then_branch', fancy), graphAttr('else_branch', plain)],
          },
        ],
      },
      [{ domain: 'com.example', version: 1 }],
    );
    const run = await runKiln(['build'], dir);
    expect(run.exitCode).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `models/fancy.onnx: op 'FancyOp' (node 'FancyOp_f') is in custom domain 'com.example'`,
    );
  }, 60_000);

  it('builds ops in the com.microsoft domain ONNX Runtime ships kernels for', async () => {
    const dir = await workspace(customConfig('gelu.onnx'));
    await writeModel(
      dir,
      'gelu.onnx',
      {
        input: [tensorInfo('x', FLOAT, ['N', 3])],
        output: [tensorInfo('y', FLOAT, ['N', 3])],
        node: [{ ...node('Gelu', ['x'], ['y']), domain: 'com.microsoft' }],
      },
      [{ domain: 'com.microsoft', version: 1 }],
    );
    const run = await runKiln(['build'], dir);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.exitCode).toBe(0);
  }, 60_000);
});

describe('assertLoadableOps', () => {
  const call = (domain: string): Onnx.IModelProto => ({
    graph: { node: [{ ...node('Fancy', ['x'], ['y']), domain }] },
  });

  it('accepts a custom-domain node that calls a function the model defines, and ai.onnx.ml ops', () => {
    const withFunction: Onnx.IModelProto = {
      ...call('com.example'),
      functions: [
        {
          name: 'Fancy',
          domain: 'com.example',
          input: ['a'],
          output: ['b'],
          node: [node('Relu', ['a'], ['b'])],
        },
      ],
    };
    expect(() => assertLoadableOps(withFunction, 'f.onnx')).not.toThrow();
    expect(() => assertLoadableOps(call('ai.onnx.ml'), 'f.onnx')).not.toThrow();
  });

  it('refuses a custom op inside a model-local function body, and a TensorRT plugin domain', () => {
    const hidden: Onnx.IModelProto = {
      graph: { node: [{ ...node('Outer', ['x'], ['y']), domain: 'local' }] },
      functions: [
        {
          name: 'Outer',
          domain: 'local',
          input: ['a'],
          output: ['b'],
          node: [{ ...node('Plugin', ['a'], ['b']), domain: 'trt.plugins' }],
        },
      ],
    };
    expect(() => assertLoadableOps(hidden, 'f.onnx')).toThrow(/op 'Plugin' .*custom domain 'trt\.plugins'/);
    expect(() => assertLoadableOps(call('trt.plugins'), 'f.onnx')).toThrow(/^f\.onnx: op 'Fancy'/);
  });
});
