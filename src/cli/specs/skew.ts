import { commonOptions, defineCommand, type OptionTable } from '../command-spec.js';
import { jsonFlag } from './shared-options.js';

export const skewOptions = {
  ...commonOptions,
  manifest: {
    type: 'string',
    short: 'm',
    value: 'FILE',
    description: 'the preprocessing manifest (required)',
  },
  inputs: {
    type: 'string',
    short: 'i',
    value: 'DIR',
    description: 'serving samples as .npy files (required)',
  },
  json: jsonFlag,
} as const satisfies OptionTable;

export const skewSpec = defineCommand({
  name: 'skew',
  summary: 'serving samples against the preprocessing manifest; exit 1 on skew',
  options: skewOptions,
  examples: ['kiln skew --manifest examples/ocr/manifests/cls.yaml --inputs examples/ocr/golden/cls/b1'],
  run: async (args) => (await import('../commands/skew.js')).skewCommand(args),
});
