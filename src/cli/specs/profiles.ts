import { commonOptions, defineCommand, type OptionTable } from '../command-spec.js';
import { jsonFlag } from './shared-options.js';

export const profilesOptions = {
  ...commonOptions,
  shapes: {
    type: 'string',
    value: 'FILE',
    description: 'observed request shapes: JSON, or CSV `shape,count` lines (required)',
  },
  engines: {
    type: 'string',
    short: 'k',
    value: 'K',
    description: 'how many shape buckets (engines)',
    fallback: '3',
  },
  input: { type: 'string', value: 'NAME', description: 'the input the shapes belong to', fallback: 'x' },
  json: jsonFlag,
} as const satisfies OptionTable;

export const profilesSpec = defineCommand({
  name: 'profiles',
  summary: 'suggest profiles (shape buckets) that minimize padding for observed request shapes',
  operands: { name: 'SUBCOMMAND', usage: 'suggest', description: 'suggest' },
  options: profilesOptions,
  examples: ['kiln profiles suggest --shapes shapes.csv --engines 2'],
  run: async (args) => (await import('../commands/profiles.js')).profilesCommand(args),
});
