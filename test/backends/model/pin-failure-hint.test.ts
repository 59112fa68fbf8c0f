import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pinFailureHint } from '../../../src/backends/model/pin-failure-hint.js';
import { GENERATED, ROOT } from '../../helpers/kiln-cli.js';

describe('pinFailureHint: was it the pinning or the model?', () => {
  it('blames the pinning for a real model that compiles as exported (Silero VAD v5)', async () => {
    const v5 = path.join(ROOT, 'node_modules', '@ricky0123', 'vad-web', 'dist', 'silero_vad_v5.onnx');
    expect(await pinFailureHint(v5)).toMatch(
      /^ \(the model as exported compiles: it is the profile sizes pinned into its input dims that ONNX Runtime's graph optimizer rejects; .*\)$/,
    );
  });

  it('says nothing for a model ONNX Runtime cannot compile at all', async () => {
    expect(await pinFailureHint(path.join(GENERATED, 'two-head.truncated.onnx'))).toBe('');
    expect(await pinFailureHint(path.join(GENERATED, 'two-head.garbage.onnx'))).toBe('');
  });
});
