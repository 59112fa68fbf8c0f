import { commonOptions, defineCommand, type OptionTable } from '../command-spec.js';

export const reportOptions = {
  ...commonOptions,
  out: {
    type: 'string',
    short: 'o',
    value: 'FILE',
    description: 'write the Markdown to FILE',
    fallback: 'stdout',
  },
} as const satisfies OptionTable;

export const reportSpec = defineCommand({
  name: 'report',
  summary: 'the Markdown report from one or more `kiln build --json` files',
  operands: { name: 'RESULTS', usage: '<RESULTS.json...>', description: '`kiln build --json` files' },
  options: reportOptions,
  examples: ['kiln report build-cpu.json build-gpu.json --out report.md'],
  run: async (args) => (await import('../commands/report.js')).reportCommand(args),
});
