import { loadConfig, type KilnConfig } from '../../core/io/config-load.js';
import { InputError } from '../../core/errors.js';
import {
  formatDims,
  isRangedProfile,
  parseDims,
  profileInputs,
  routeShape,
  totalElements,
} from '../../core/shape-routing.js';
import type { CommandArgs } from '../command-spec.js';
import type { routeOptions } from '../specs/route.js';

export const routeUsage =
  'kiln route [--config kiln.yaml] [--model M] --shape NAME=DxDx... [--pad-dims NAME=I,J]... [--json]';

/**
 * `kiln route`: which profile's engine serves a request shape, with the padding it needs. Reads only
 * the config, never the model. Exit 0 with the route, 2 when no profile fits or the input is bad.
 */
export async function routeCommand({ values }: CommandArgs<typeof routeOptions>): Promise<number> {
  if (!values.shape || values.shape.length === 0) {
    throw new InputError(
      `kiln route: give the request shape, e.g. --shape x=1x3x400x400 (usage: ${routeUsage})`,
    );
  }
  const config = await loadConfig(values.config);
  const model = pickModel(config, values.model, values.config);
  const inputs = [...new Set(model.profiles.flatMap(profileInputs))];
  const shapes = parseShapes(values.shape, inputs);
  const paddable = values['pad-dims'] && parsePadDims(values['pad-dims']);
  const route = routeShape(model.profiles, shapes, { model: model.name, ...(paddable ? { paddable } : {}) });

  if (values.json) {
    process.stdout.write(`${JSON.stringify({ model: model.name, shapes, ...route })}\n`);
    return 0;
  }
  const profile = model.profiles.find((p) => p.name === route.profile)!;
  const lines: string[] = [];
  const request = Object.entries(shapes)
    .map(([n, d]) => `${n}=${formatDims(d)}`)
    .join(' ');
  if (isRangedProfile(profile)) {
    const range = Object.keys(profile.min)
      .map((n) => `${n}=${formatDims(profile.min[n]!)}..${formatDims(profile.max[n]!)}`)
      .join(' ');
    lines.push(`${model.name}: ${request} -> profile ${profile.name} (ranged ${range}), no padding`);
  } else {
    const padded = Object.entries(profile.shapes)
      .map(([n, d]) => `${n}=${formatDims(d)}`)
      .join(' ');
    lines.push(`${model.name}: ${request} -> profile ${profile.name} (${padded})`);
    for (const [name, pad] of Object.entries(route.padding)) {
      const dims = pad.flatMap((p, i) =>
        p > 0 ? [`dim ${i} +${p} (${shapes[name]![i]} -> ${shapes[name]![i]! + p})`] : [],
      );
      lines.push(`  pad ${name}: ${dims.length > 0 ? dims.join(', ') : 'none'}`);
    }
  }
  const computed = totalElements(shapes) + route.paddedElements;
  lines.push(
    `  waste: ${route.paddedElements} padded of ${computed} elements (${(100 * route.wasteRatio).toFixed(1)}%)`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

function pickModel(
  config: KilnConfig,
  name: string | undefined,
  configPath: string,
): KilnConfig['models'][number] {
  const names = config.models.map((m) => m.name).join(', ');
  if (name === undefined) {
    if (config.models.length === 1) return config.models[0]!;
    throw new InputError(
      `kiln route: ${configPath} has ${config.models.length} models; pick one with --model (${names})`,
    );
  }
  const model = config.models.find((m) => m.name === name);
  if (!model) throw new InputError(`--model ${name}: no such model in ${configPath} (models: ${names})`);
  return model;
}

/** `--shape x=1x3x400x400`, or bare `--shape 1x3x400x400` when the model has one input. */
function parseShapes(args: readonly string[], inputs: readonly string[]): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : inputs.length === 1 ? inputs[0]! : undefined;
    const dims = parseDims(eq >= 0 ? arg.slice(eq + 1) : arg);
    if (name === undefined) {
      throw new InputError(
        `--shape ${arg}: name the input, e.g. --shape ${inputs[0]}=${arg} (inputs: ${inputs.join(', ')})`,
      );
    }
    if (name === '' || !dims) {
      throw new InputError(
        `--shape ${arg}: expected NAME=DxDx... with whole-number dims ≥ 1, e.g. x=1x3x400x400`,
      );
    }
    if (Object.hasOwn(shapes, name)) throw new InputError(`--shape ${arg}: input '${name}' is given twice`);
    shapes[name] = dims;
  }
  return shapes;
}

/** `--pad-dims x=2,3`: the dims that may be padded, replacing the default (the dims profiles vary in). */
function parsePadDims(args: readonly string[]): Record<string, number[]> {
  const paddable: Record<string, number[]> = {};
  for (const arg of args) {
    const match = /^([^=]+)=([0-9]+(?:,[0-9]+)*)?$/.exec(arg);
    if (!match) throw new InputError(`--pad-dims ${arg}: expected NAME=I,J (dim indices from 0), e.g. x=2,3`);
    const name = match[1]!;
    paddable[name] = [...(paddable[name] ?? []), ...(match[2] ? match[2].split(',').map(Number) : [])];
  }
  return paddable;
}
