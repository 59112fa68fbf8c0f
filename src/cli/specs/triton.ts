import { commonOptions, defineCommand, type OptionTable } from '../command-spec.js';

export const tritonOptions = {
  ...commonOptions,
  out: {
    type: 'string',
    short: 'o',
    value: 'REPO',
    description: 'the Triton model repository to write (required)',
  },
  'triton-version': {
    type: 'string',
    value: 'N',
    description: 'the model version number in the repository',
    fallback: 'one past the highest there',
  },
  'triton-release': {
    type: 'string',
    value: 'YY.MM',
    description:
      'the Triton container release that serves the models (TensorRT plans must match its TensorRT)',
    fallback: 'none: refused for TensorRT plans',
  },
  backend: {
    type: 'string',
    multiple: true,
    value: 'B',
    description: 'only engines of this backend',
    fallback: 'every backend Triton can serve',
  },
} as const satisfies OptionTable;

export const tritonSpec = defineCommand({
  name: 'triton',
  summary: 'a published release as a Triton model repository, one model per profile and precision',
  operands: {
    name: 'RELEASE',
    usage: '<RELEASE>',
    description: 'a release folder: <releases>/<model>/<version>',
  },
  options: tritonOptions,
  examples: ['kiln triton releases/det/1.4.0 --out triton-repo'],
  run: async (args) => (await import('../commands/triton.js')).tritonCommand(args),
});
