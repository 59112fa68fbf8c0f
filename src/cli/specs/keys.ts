import { commonOptions, defineCommand, type OptionTable } from '../command-spec.js';
import { configOption, modelsOption, targetOption } from './shared-options.js';

export const keysOptions = {
  ...commonOptions,
  config: configOption,
  base: { type: 'string', value: 'REF', description: "list the merge base's engines instead of head's" },
  target: targetOption,
  model: modelsOption,
  json: { type: 'string', value: 'FILE', description: 'write the keys to FILE', fallback: 'stdout' },
} as const satisfies OptionTable;

export const keysSpec = defineCommand({
  name: 'keys',
  summary: 'the artifact key of every engine a build would produce here, without building',
  options: keysOptions,
  examples: ['kiln keys --target cpu', 'kiln keys --base origin/main --json base-keys.json'],
  run: async (args) => (await import('../commands/keys.js')).keysCommand(args),
});
