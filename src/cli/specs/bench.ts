import { commonOptions, defineCommand, type OptionTable } from '../command-spec.js';
import { configOption, jsonFileOption, modelsOption, storeOption, targetOption } from './shared-options.js';

export const benchOptions = {
  ...commonOptions,
  base: {
    type: 'string',
    value: 'REF',
    description: 'compare against the engines of the merge base with REF (required)',
  },
  config: configOption,
  target: targetOption,
  model: modelsOption,
  store: storeOption,
  json: { ...jsonFileOption, description: 'write the A/B comparison to FILE' },
} as const satisfies OptionTable;

export const benchSpec = defineCommand({
  name: 'bench',
  summary: "time head's engines against the merge base's, interleaved; exit 1 on a latency regression",
  options: benchOptions,
  examples: ['kiln bench --base origin/main --json bench.json'],
  run: async (args) => (await import('../commands/bench.js')).benchCommand(args),
});
