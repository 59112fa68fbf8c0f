import { commonOptions, defineCommand, type OptionTable } from '../command-spec.js';
import { jsonFlag } from './shared-options.js';

export const driftOptions = {
  ...commonOptions,
  artifact: {
    type: 'string',
    short: 'a',
    value: 'FILE',
    description: "the engine's artifact.json (required)",
  },
  inputs: {
    type: 'string',
    short: 'i',
    value: 'DIR',
    description: 'serving samples as .npy files (required)',
  },
  model: {
    type: 'string',
    value: 'PATH',
    description: 'the ONNX model, to measure activation clipping of an INT8 engine',
  },
  'psi-max': {
    type: 'string',
    value: 'X',
    description: 'largest population stability index allowed',
    fallback: '0.25',
  },
  'ks-max': {
    type: 'string',
    value: 'X',
    description: 'largest Kolmogorov-Smirnov distance allowed',
    fallback: '0.2',
  },
  'clip-max': {
    type: 'string',
    value: 'X',
    description: 'largest share of clipped activations allowed',
    fallback: '0.01',
  },
  json: jsonFlag,
} as const satisfies OptionTable;

export const driftSpec = defineCommand({
  name: 'drift',
  summary: 'serving samples against the calibration statistics; exit 1 above a threshold',
  options: driftOptions,
  examples: ['kiln drift --artifact .kiln/store/det/<key>/artifact.json --inputs samples/ --psi-max 0.2'],
  run: async (args) => (await import('../commands/drift.js')).driftCommand(args),
});
