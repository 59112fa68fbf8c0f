import { commonOptions, defineCommand, type OptionTable } from '../command-spec.js';
import { configOption, modelsOption, storeOption, targetOption } from './shared-options.js';

export const publishOptions = {
  ...commonOptions,
  config: configOption,
  version: { type: 'string', value: 'V', description: 'the release version, e.g. the tag (required)' },
  results: {
    type: 'string',
    multiple: true,
    value: 'FILE',
    description: '`kiln build --json` files naming the engines to publish',
    fallback: "this host's engine keys",
  },
  store: storeOption,
  to: {
    type: 'string',
    value: 'DIR',
    description: 'the release store',
    fallback: 'releases/ beside the engine store',
  },
  oci: {
    type: 'string',
    value: 'REGISTRY/NAMESPACE',
    description:
      'also push each release to this OCI registry (credentials: $KILN_REGISTRY_USER, $KILN_REGISTRY_PASSWORD)',
  },
  'plain-http': {
    type: 'boolean',
    description: 'talk to the --oci registry over plain HTTP (local test registries)',
  },
  triton: {
    type: 'string',
    value: 'REPO',
    description: 'also export each new release as a Triton model repository',
  },
  target: targetOption,
  model: modelsOption,
  json: {
    type: 'string',
    value: 'FILE',
    description: 'write the published releases and engine digests to FILE',
  },
} as const satisfies OptionTable;

export const publishSpec = defineCommand({
  name: 'publish',
  summary: 'verified engines become an immutable model version (release store, OCI, Triton)',
  options: publishOptions,
  examples: [
    'kiln publish --version 1.4.0 --results build.json',
    'kiln publish --version 1.4.0 --oci ghcr.io/acme/engines --json publish.json',
  ],
  run: async (args) => (await import('../commands/publish.js')).publishCommand(args),
});
