import { commonOptions, defineCommand, type OptionTable } from '../command-spec.js';
import { configOption, jsonFileOption, modelsOption, storeOption, targetOption } from './shared-options.js';

export const buildOptions = {
  ...commonOptions,
  config: configOption,
  target: targetOption,
  model: modelsOption,
  store: storeOption,
  json: {
    ...jsonFileOption,
    description: 'write the build results (engines, golden verdicts, latency) to FILE',
  },
  threads: {
    type: 'string',
    value: 'N',
    description: 'intra-op threads for golden and bench sessions, 1 to 1024',
    fallback: 'bench.threads from the config',
  },
  'host-cache': {
    type: 'string',
    value: 'DIR',
    description:
      "this host's shared engine cache, least recently used evicted past $KILN_HOST_CACHE_MAX_GB (50)",
    fallback: '$KILN_HOST_CACHE, else none',
  },
  'remote-store': {
    type: 'string',
    value: 'oci://REGISTRY/NAMESPACE',
    description:
      'remote engine store on an OCI registry: misses are pulled (every file sha256-checked), new engines pushed',
    fallback: '$KILN_REMOTE_STORE, else none',
  },
  'plain-http': {
    type: 'boolean',
    description: 'talk to the remote store over http (a registry on loopback or a private network)',
  },
} as const satisfies OptionTable;

export const buildSpec = defineCommand({
  name: 'build',
  summary: 'compile every model × profile × precision, check goldens, time the engines',
  options: buildOptions,
  examples: [
    'kiln build                                  # every target this host can run',
    'kiln build --target cpu --model det --json build.json',
  ],
  run: async (args) => (await import('../commands/build.js')).buildCommand(args),
});
