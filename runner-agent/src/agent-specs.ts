import type { CommandHelp, OptionSpec, OptionTable } from '../../src/cli/command-spec.js';

const json = { type: 'boolean', description: 'print JSON instead of text' } as const satisfies OptionSpec;
const root = {
  type: 'string',
  value: 'DIR',
  description: 'the serving root: <root>/<model>/{current,previous,versions/}',
  fallback: '$KILN_AGENT_SERVING, else /var/lib/kiln-agent/serving',
} as const satisfies OptionSpec;
const events = {
  type: 'string',
  value: 'DIR',
  description: 'where deploy records go for `kiln-agent serve` to count',
  fallback: '$KILN_AGENT_EVENTS, else <root>/.events',
} as const satisfies OptionSpec;
const results = {
  type: 'string',
  value: 'DIR',
  description: 'spool of `kiln build --json` files and `kiln-agent run` interference records',
  fallback: '$KILN_AGENT_RESULTS, else /var/lib/kiln-agent/results',
} as const satisfies OptionSpec;

export const probeOptions = { json } as const satisfies OptionTable;

export const labelsOptions = {} as const satisfies OptionTable;

export const registerOptions = {
  url: {
    type: 'string',
    value: 'URL',
    description: 'the https:// repository or organization URL (required)',
  },
  name: { type: 'string', value: 'NAME', description: 'the runner name (required)' },
} as const satisfies OptionTable;

export const doctorOptions = {
  'runner-dir': {
    type: 'string',
    value: 'DIR',
    description: 'the actions-runner folder, to check its version',
    fallback: '$RUNNER_VERSION',
  },
} as const satisfies OptionTable;

export const serveOptions = {
  host: {
    type: 'string',
    value: 'H',
    description: 'address to listen on',
    fallback: '$KILN_AGENT_HOST, else 127.0.0.1',
  },
  port: {
    type: 'string',
    value: 'N',
    description: 'TCP port, 0 to 65535',
    fallback: '$KILN_AGENT_PORT, else 9464',
  },
  results,
  events: { ...events, fallback: '$KILN_AGENT_EVENTS, else /var/lib/kiln-agent/serving/.events' },
  device: {
    type: 'string',
    value: 'NAME',
    description: 'device label on the metrics',
    fallback: '$KILN_AGENT_DEVICE, else cpu',
  },
} as const satisfies OptionTable;

export const runOptions = {
  gpu: {
    type: 'string',
    value: 'UUID',
    description: 'the GPU to lease (required; see kiln-agent probe)',
  },
  'lease-dir': {
    type: 'string',
    value: 'DIR',
    description: 'where GPU leases live',
    fallback: '$KILN_AGENT_LEASES, else /var/lib/kiln-agent/leases',
  },
  retries: { type: 'string', value: 'N', description: 'reruns after an interfered run', default: '2' },
  results: { ...results, description: 'where the run drops its interference record for `kiln-agent serve`' },
  'wait-minutes': {
    type: 'string',
    value: 'M',
    description: 'how long to wait for the lease',
    default: '60',
  },
} as const satisfies OptionTable;

export const deployOptions = {
  releases: { type: 'string', value: 'DIR', description: 'take the release from this release store' },
  oci: {
    type: 'string',
    value: 'REGISTRY/NAMESPACE',
    description:
      'pull the release from this OCI registry (credentials: $KILN_REGISTRY_USER, $KILN_REGISTRY_PASSWORD)',
  },
  'plain-http': { type: 'boolean', description: 'talk to the --oci registry over plain HTTP' },
  root,
  profile: { type: 'string', value: 'P', description: 'only engines of this profile', fallback: 'all' },
  precision: {
    type: 'string',
    value: 'X',
    description: 'only engines of this precision',
    fallback: 'all',
  },
  'max-regression-pct': {
    type: 'string',
    value: 'PCT',
    description: 'refuse when p99 is slower than the serving version by more',
    default: '10',
  },
  threads: {
    type: 'string',
    value: 'N',
    description: 'intra-op threads for the latency check',
    default: '1',
  },
  'min-samples': { type: 'string', value: 'N', description: 'fewest latency samples', default: '200' },
  'max-samples': { type: 'string', value: 'N', description: 'most latency samples', default: '1000' },
  'budget-ms': {
    type: 'string',
    value: 'MS',
    description: 'time budget of the latency check',
    default: '3000',
  },
  events,
  json: { type: 'boolean', description: 'print the deploy record as JSON (progress goes to stderr)' },
  recover: { type: 'boolean', description: 'only clean up after a deploy that crashed' },
} as const satisfies OptionTable;

export const rollbackOptions = {
  root,
  events,
  json: { ...json, description: 'print the rollback record as JSON' },
} as const satisfies OptionTable;

/**
 * Help and flags of every built-in `kiln-agent` command, as data: `kiln-agent --help` loads none of
 * the commands. Each command parses its own argv against the same table (agent-args.ts).
 */
export const AGENT_SPECS: Readonly<Record<string, CommandHelp>> = {
  probe: {
    name: 'probe',
    summary: 'host fingerprint: GPUs, driver, CUDA, TensorRT, CPU ISA, OS',
    options: probeOptions,
    examples: ['kiln-agent probe --json'],
  },
  labels: {
    name: 'labels',
    summary: 'runner labels derived from the probe, one per line',
    options: labelsOptions,
    examples: ['kiln-agent labels'],
  },
  register: {
    name: 'register',
    summary: 'the actions-runner config.sh line for this host, with its labels',
    options: registerOptions,
    examples: ['kiln-agent register --url https://github.com/acme/models --name h100-01'],
  },
  doctor: {
    name: 'doctor',
    summary: 'what each backend is missing on this host, with the fix',
    options: doctorOptions,
    examples: ['kiln-agent doctor --runner-dir /opt/actions-runner'],
  },
  serve: {
    name: 'serve',
    summary: '/healthz and Prometheus /metrics, fed by the build results and deploy events spools',
    options: serveOptions,
    examples: ['kiln-agent serve --port 9464 --results /var/lib/kiln-agent/results'],
  },
  run: {
    name: 'run',
    summary: 'run a command holding the GPU lease, retrying runs a foreign process interfered with',
    operands: {
      name: 'COMMAND',
      usage: '[options] -- COMMAND...',
      description: 'the command to run, after --',
    },
    options: runOptions,
    examples: ['kiln-agent run --gpu GPU-5f3c... -- kiln build --target h100 --json build.json'],
  },
  deploy: {
    name: 'deploy',
    summary: 'pull, verify, warm up, compare p99 and switch a model version; --recover cleans up a crash',
    operands: {
      name: 'MODEL',
      usage: '<MODEL@VERSION>',
      description: 'MODEL@VERSION, or MODEL with --recover',
    },
    options: deployOptions,
    examples: [
      'kiln-agent deploy det@1.4.0 --releases /srv/releases',
      'kiln-agent deploy det@1.4.0 --oci ghcr.io/acme/engines --json',
      'kiln-agent deploy --recover det',
    ],
  },
  rollback: {
    name: 'rollback',
    summary: 'serve the previous version again, after re-verifying it',
    operands: { name: 'MODEL', usage: '<MODEL>', description: 'the model to roll back' },
    options: rollbackOptions,
    examples: ['kiln-agent rollback det'],
  },
};
