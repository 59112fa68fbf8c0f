import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { allowedKeysAt, describeExpectation, describeValue, formatKeyPath } from '../config-issues.js';
import { readConfined } from './confined-file.js';
import { configSchema, type RawConfig } from '../config-schema.js';
import { InputError } from '../errors.js';
import { yamlData } from '../yaml-data.js';
import { resolveInside } from './repo-paths.js';

/** A validated config whose file paths are absolute and known to stay inside the config's folder. */
export interface KilnConfig extends RawConfig {
  configPath: string;
  configDir: string;
  /** Absolute store folder. */
  storeDir: string;
}

/** Bound on a config or manifest file: YAML this large is an attack or a mistake, never a config. */
export const MAX_TEXT_BYTES = 16 * 1024 ** 2;

/**
 * Reads and validates `kiln.yaml`. Any problem becomes one InputError line:
 * `<file>:<line>: <key path>: found <value>, <expectation>`.
 */
export async function loadConfig(configPath: string): Promise<KilnConfig> {
  const absolute = path.resolve(configPath);
  // A pull request can make kiln.yaml a symlink to a secret or a FIFO: read it like any config-named file.
  const bytes = await readConfined(path.dirname(absolute), configPath, {
    what: 'config',
    maxBytes: MAX_TEXT_BYTES,
  });
  return parseConfig(bytes.toString('utf8'), configPath, path.dirname(absolute));
}

/** Validates config text; `displayPath` names the file in messages. */
export function parseConfig(text: string, displayPath: string, configDir: string): KilnConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    throw new InputError(
      `${displayPath}${line ? `:${line}` : ''}: invalid YAML: ${first.message.split('\n')[0]}`,
      {
        cause: first,
      },
    );
  }
  const data = yamlData(doc, displayPath);
  const parsed = configSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    const issue = pickIssue(parsed.error.issues[0]!);
    const keyPath =
      issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : (issue.path as PropertyKey[]);
    const line = lineOfKey(doc, lines, keyPath);
    const found = issue.code === 'unrecognized_keys' ? 'an unknown key' : describeValue(issue.input);
    const expected = describeExpectation(issue, allowedKeysAt(configSchema, issue.path));
    const more = parsed.error.issues.length > 1 ? ` (+${parsed.error.issues.length - 1} more)` : '';
    throw new InputError(
      `${displayPath}${line ? `:${line}` : ''}: ${formatKeyPath(keyPath)}: found ${found}, ${expected}${more}`,
      { cause: parsed.error },
    );
  }
  const config = parsed.data;
  checkUnique(config, displayPath);
  return resolvePaths(config, displayPath, configDir);
}

/** The line of the key at `keyPath` (not of its value, which may start a line later). */
function lineOfKey(doc: Document, lines: LineCounter, keyPath: PropertyKey[]): number | undefined {
  const parent = keyPath.length > 1 ? doc.getIn(keyPath.slice(0, -1).map(String), true) : doc.contents;
  const last = keyPath.at(-1);
  if (isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(last));
    const range = (pair?.key as { range?: [number, number] } | undefined)?.range;
    if (range) return lines.linePos(range[0]).line;
  }
  const node = doc.getIn(keyPath.map(String), true) as { range?: [number, number] } | undefined;
  return node?.range ? lines.linePos(node.range[0]).line : undefined;
}

/** For a failed union, report the branch that came closest rather than zod's summary. */
function pickIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
  const inner = closest[0];
  if (!inner) return issue;
  return pickIssue({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue);
}

function checkUnique(config: RawConfig, file: string): void {
  const duplicate = (names: string[]) => names.findIndex((n, i) => names.indexOf(n) !== i);
  const m = duplicate(config.models.map((x) => x.name));
  if (m >= 0) throw dup(file, `models[${m}].name`, config.models[m]!.name, 'model');
  const t = duplicate(config.targets.map((x) => x.name));
  if (t >= 0) throw dup(file, `targets[${t}].name`, config.targets[t]!.name, 'target');
  const trt = config.targets.findIndex((x) => x.trt !== undefined && x.backend !== 'tensorrt');
  if (trt >= 0) {
    throw new InputError(
      `${file}: targets[${trt}].trt: found a TensorRT section on backend ${config.targets[trt]!.backend}, expected it only on backend tensorrt`,
    );
  }
  config.models.forEach((model, i) => {
    const p = duplicate(model.profiles.map((x) => x.name));
    if (p >= 0) throw dup(file, `models[${i}].profiles[${p}].name`, model.profiles[p]!.name, 'profile');
    if (model.precisions.includes('int8') && !model.calibration) {
      throw new InputError(
        `${file}: models[${i}].calibration: found nothing, expected calibration data for precision int8`,
      );
    }
  });
}

function dup(file: string, keyPath: string, name: string, what: string): InputError {
  return new InputError(`${file}: ${keyPath}: found "${name}" twice, expected a unique ${what} name`);
}

function resolvePaths(config: RawConfig, file: string, configDir: string): KilnConfig {
  const at = (key: string) => `${file}: ${key}`;
  const models = config.models.map((model, i) => ({
    ...model,
    path: resolveInside(configDir, model.path, at(`models[${i}].path`)),
    manifest: model.manifest && resolveInside(configDir, model.manifest, at(`models[${i}].manifest`)),
    calibration: model.calibration && {
      ...model.calibration,
      data: resolveInside(configDir, model.calibration.data, at(`models[${i}].calibration.data`)),
    },
    golden: {
      ...model.golden,
      inputs:
        model.golden.inputs &&
        resolveInside(configDir, model.golden.inputs, at(`models[${i}].golden.inputs`)),
    },
  }));
  const storeDir = resolveInside(configDir, config.store, at('store'));
  return { ...config, models, configPath: path.resolve(configDir, path.basename(file)), configDir, storeDir };
}
