import { commonOptions, defineCommand, type OptionTable } from '../command-spec.js';
import { configOption } from './shared-options.js';

export const planOptions = {
  ...commonOptions,
  config: configOption,
  base: { type: 'string', value: 'REF', description: 'the models changed since the merge base with REF' },
  changed: {
    type: 'string',
    multiple: true,
    value: 'FILE',
    description: 'the models these changed files touch; more files may follow the flag',
  },
  all: { type: 'boolean', description: 'every model in the config' },
  json: { type: 'string', value: 'FILE', description: 'write the matrix to FILE instead of stdout' },
} as const satisfies OptionTable;

export const planSpec = defineCommand({
  name: 'plan',
  summary: 'which models a change touches, as a workflow build matrix (one of --base, --changed, --all)',
  operands: { name: 'FILE', usage: '[FILE...]', description: 'with --changed: more changed files' },
  options: planOptions,
  examples: [
    'kiln plan --base origin/main                # {"include": [...]} for fromJSON',
    'kiln plan --changed models/det.onnx kiln.yaml',
  ],
  run: async (args) => (await import('../commands/plan.js')).planCommand(args),
});
