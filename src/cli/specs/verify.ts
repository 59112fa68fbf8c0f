import { commonOptions, defineCommand, type OptionTable } from '../command-spec.js';

export const verifyOptions = {
  ...commonOptions,
  store: {
    type: 'string',
    multiple: true,
    value: 'DIR',
    description: 'also look here for a sibling engine that does match this host',
    fallback: "the artifact's own folder",
  },
  json: { type: 'string', value: 'FILE', description: 'write the verdict to FILE' },
} as const satisfies OptionTable;

export const verifySpec = defineCommand({
  name: 'verify',
  summary: "check on the serving host that an engine's hardware tags match it; exit 2 if not",
  operands: { name: 'ARTIFACT', usage: '<ARTIFACT>', description: 'an engine folder or its artifact.json' },
  options: verifyOptions,
  examples: ['kiln verify releases/det/1.4.0/engines/<key>'],
  run: async (args) => (await import('../commands/verify.js')).verifyCommand(args),
});
