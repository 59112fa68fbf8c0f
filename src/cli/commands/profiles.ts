import path from 'node:path';
import { readConfined } from '../../core/io/confined-file.js';
import { InputError, KilnError } from '../../core/errors.js';
import {
  parseShapeHistogram,
  profilesYaml,
  suggestProfiles,
  type Suggestion,
} from '../../core/profile-suggest/index.js';
import { formatDims } from '../../core/shape-routing.js';
import type { CommandArgs } from '../command-spec.js';
import type { profilesOptions } from '../specs/profiles.js';

/** A shapes histogram is a few KiB; this bounds parsing before the distinct-shape bound applies. */
const MAX_SHAPES_FILE_BYTES = 64 * 1024 ** 2;

export const profilesUsage = 'kiln profiles suggest --shapes FILE [--engines K] [--input NAME] [--json]';

/**
 * `kiln profiles suggest`: from a histogram of observed serving shapes (JSON, or CSV `shape,count`
 * lines), propose K shape buckets (one engine each) that minimize padding waste; prints the buckets
 * with their waste and a `profiles:` block to paste into kiln.yaml.
 */
export async function profilesCommand({
  values,
  positionals,
}: CommandArgs<typeof profilesOptions>): Promise<number> {
  const [sub, ...rest] = positionals;
  if (sub !== 'suggest') {
    throw new InputError(
      `kiln profiles: ${sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`} (usage: ${profilesUsage})`,
    );
  }
  if (rest.length > 0) throw new InputError(`kiln profiles suggest: unexpected argument '${rest[0]}'`);
  if (!values.shapes) {
    throw new InputError(
      `kiln profiles suggest: give the observed shapes with --shapes FILE (usage: ${profilesUsage})`,
    );
  }
  const engines = parseEngines(values.engines ?? '3');
  const bytes = await readConfined(path.dirname(path.resolve(values.shapes)), values.shapes, {
    what: 'shapes file (--shapes)',
    maxBytes: MAX_SHAPES_FILE_BYTES,
  });
  const histogram = parseShapeHistogram(bytes.toString('utf8'), values.shapes);
  let suggestion: Suggestion;
  try {
    suggestion = suggestProfiles(
      histogram,
      engines,
      values.input === undefined ? {} : { input: values.input },
    );
  } catch (error) {
    if (!(error instanceof KilnError)) throw error;
    throw new InputError(`${values.shapes}: ${error.message}`, { cause: error });
  }
  const yaml = profilesYaml(suggestion.buckets);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ engines, ...suggestion, yaml }, null, 2)}\n`);
  } else {
    process.stdout.write(`${describe(suggestion, engines)}\n${yaml}`);
  }
  return 0;
}

function parseEngines(text: string): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isInteger(n) || n < 1 || n > 64) {
    throw new InputError(`--engines ${text}: expected a whole number of engines from 1 to 64`);
  }
  return n;
}

function describe(s: Suggestion, engines: number): string {
  const varying =
    s.varying.length === 0
      ? 'all the same shape'
      : `varying ${s.varying.map((v) => `${v.input} dim ${v.dim}`).join(', ')}`;
  const method =
    s.method === 'exact'
      ? 'exact (dynamic program over one varying dim)'
      : 'heuristic (greedy merge by least added waste, then refinement; not guaranteed optimal)';
  const lines = [
    `kiln profiles suggest: ${s.requests} requests, ${s.distinctShapes} distinct shape(s), ${varying}`,
    `  ${s.buckets.length} of ${engines} engine(s), ${method}`,
  ];
  if (s.buckets.length < engines) {
    lines.push(`  only ${s.distinctShapes} distinct shape(s): one engine each, no padding`);
  }
  const rows = s.buckets.map((b) => [
    b.name,
    Object.entries(b.shapes)
      .map(([n, d]) => (Object.keys(b.shapes).length === 1 ? formatDims(d) : `${n}=${formatDims(d)}`))
      .join(' '),
    `${b.requests} (${((100 * b.requests) / s.requests).toFixed(1)}%)`,
    `${b.wastePct.toFixed(1)}%`,
  ]);
  const table = [['bucket', 'shape', 'requests', 'waste'], ...rows];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const row of table)
    lines.push(`  ${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`.trimEnd());
  lines.push(`  total waste: ${s.wastePct.toFixed(1)}% of the elements the engines compute are padding`);
  return `${lines.join('\n')}\n`;
}
