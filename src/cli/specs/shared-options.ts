import type { OptionSpec } from '../command-spec.js';

/** Flags several commands share, worded once so their help reads the same everywhere. */
export const configOption = {
  type: 'string',
  short: 'c',
  default: 'kiln.yaml',
  value: 'FILE',
  description: 'the kiln config',
} as const satisfies OptionSpec;

export const targetOption = {
  type: 'string',
  short: 't',
  value: 'T',
  description: 'only this target from the config',
  fallback: 'every target whose backend can run on this host',
} as const satisfies OptionSpec;

export const modelsOption = {
  type: 'string',
  short: 'm',
  multiple: true,
  value: 'M',
  description: 'only this model from the config',
  fallback: 'every model',
} as const satisfies OptionSpec;

export const storeOption = {
  type: 'string',
  value: 'DIR',
  description: 'the engine store',
  fallback: "the config's store, .kiln/store",
} as const satisfies OptionSpec;

export const jsonFileOption = {
  type: 'string',
  value: 'FILE',
  description: 'also write the results as JSON to FILE',
} as const satisfies OptionSpec;

export const jsonFlag = {
  type: 'boolean',
  description: 'print JSON instead of text',
} as const satisfies OptionSpec;
