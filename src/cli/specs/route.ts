import { commonOptions, defineCommand, type OptionTable } from '../command-spec.js';
import { configOption, jsonFlag } from './shared-options.js';

export const routeOptions = {
  ...commonOptions,
  config: configOption,
  model: {
    type: 'string',
    short: 'm',
    value: 'M',
    description: 'the model to route for',
    fallback: 'the only model',
  },
  shape: {
    type: 'string',
    short: 's',
    multiple: true,
    value: 'NAME=DxD...',
    description: 'the request shape of one input (required)',
  },
  'pad-dims': {
    type: 'string',
    multiple: true,
    value: 'NAME=I,J',
    description: 'dimensions of an input the server may pad',
    fallback: 'none',
  },
  json: jsonFlag,
} as const satisfies OptionTable;

export const routeSpec = defineCommand({
  name: 'route',
  summary: "which profile's engine serves a request shape, and the padding it needs",
  options: routeOptions,
  examples: ['kiln route --model det --shape x=1x3x640x480 --pad-dims x=2,3'],
  run: async (args) => (await import('../commands/route.js')).routeCommand(args),
});
