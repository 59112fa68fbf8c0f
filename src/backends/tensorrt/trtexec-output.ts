/**
 * Parsers for what trtexec writes (pure). Formats as trtexec's source writes them
 * (samples/common/sampleReporting.cpp) and as recorded in test/fixtures/trtexec/.
 */
import { InputError } from '../../core/errors.js';
import { toFloat16Bits } from '../../core/float16.js';
import { allocateData, elementCount } from '../../core/tensor.js';
import type { HostTensor, TensorDtype } from '../../core/tensor.js';

/** Which per-inference time of an `--exportTimes` record to read. */
export type ExportTimesField = 'latencyMs' | 'computeMs';

/**
 * `--exportTimes` JSON (`exportJSONTrace` in samples/common/sampleReporting.cpp): an array with one
 * object per inference (`startEnqMs`, …, `startComputeMs`, `endComputeMs`, …, `h2dMs`, `computeMs`,
 * `d2hMs`, `latencyMs`, and `endToEndMs` since 8.x). Returns each inference's `field` in ms, in run
 * order: `latencyMs` = h2d + compute + d2h (with --noDataTransfers just compute), `computeMs` the
 * GPU compute time alone. On 8.x the file holds the warm-up inferences too (10.x skips them);
 * trtexec's own summary drops those whose `startComputeMs` is below `--warmUp`, and so does
 * `warmUpMs` here, which makes both versions read alike.
 */
export function parseExportTimes(
  text: string,
  source: string,
  options: { field?: ExportTimesField; warmUpMs?: number } = {},
): number[] {
  const field = options.field ?? 'latencyMs';
  const warmUpMs = options.warmUpMs ?? 0;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${source}: trtexec timing file is not JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (!Array.isArray(doc)) throw new InputError(`${source}: trtexec timing file is not a JSON array`);
  const times: number[] = [];
  for (const [i, raw] of doc.entries()) {
    const entry = raw as Record<string, unknown> | null;
    const value = entry?.[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new InputError(
        `${source}: trtexec timing entry ${i} has no valid ${field} (found ${JSON.stringify(value)})`,
      );
    }
    if (warmUpMs > 0) {
      const start = entry?.startComputeMs;
      if (typeof start !== 'number' || !Number.isFinite(start)) {
        throw new InputError(`${source}: trtexec timing entry ${i} has no valid startComputeMs`);
      }
      if (start < warmUpMs) continue;
    }
    times.push(value);
  }
  if (times.length === 0) {
    throw new InputError(
      `${source}: trtexec timing file has no iterations${warmUpMs > 0 ? ` after the ${warmUpMs} ms warm-up` : ''}`,
    );
  }
  return times;
}

/** Output name → dtype, so JSON numbers come back in the engine's element type. */
export type OutputDtypes = Readonly<Record<string, TensorDtype>>;

/**
 * `--exportOutput` JSON: `[ { "name" : "y", "dimensions" : "1x5", "values" : [ ... ] } ]`.
 * trtexec prints values with C++ stream defaults (6 significant digits) and non-finite floats as
 * bare `nan`/`inf`, which are not JSON: those tokens are mapped before parsing. The 6 digits bound
 * the golden check's resolution to about 5e-7 relative, far below the fp32 default rtol of 1e-3.
 * Values of an output missing from `dtypes` come back as float32.
 */
export function parseExportOutput(
  text: string,
  source: string,
  dtypes: OutputDtypes = {},
): Record<string, HostTensor> {
  const jsonText = text.replace(/(?<![\w."])(-?)(nan|inf)(?![\w"])/gi, (_m, sign: string, word: string) =>
    JSON.stringify(`${sign}${word.toLowerCase()}`),
  );
  let doc: unknown;
  try {
    doc = JSON.parse(jsonText);
  } catch (error) {
    throw new InputError(`${source}: trtexec output file is not JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (!Array.isArray(doc)) throw new InputError(`${source}: trtexec output file is not a JSON array`);
  const out: Record<string, HostTensor> = {};
  for (const [i, raw] of doc.entries()) {
    const entry = raw as { name?: unknown; dimensions?: unknown; values?: unknown } | null;
    if (
      typeof entry?.name !== 'string' ||
      typeof entry.dimensions !== 'string' ||
      !Array.isArray(entry.values)
    ) {
      throw new InputError(`${source}: trtexec output entry ${i} lacks name, dimensions or values`);
    }
    const shape = parseDimensions(entry.dimensions, `${source}: output '${entry.name}'`);
    const count = elementCount(shape);
    if (entry.values.length !== count) {
      throw new InputError(
        `${source}: output '${entry.name}' has ${entry.values.length} values for dimensions ${entry.dimensions} (${count} expected)`,
      );
    }
    const dtype = dtypes[entry.name] ?? 'float32';
    out[entry.name] = {
      dtype,
      shape,
      data: toData(dtype, entry.values as unknown[], `${source}: '${entry.name}'`),
    };
  }
  return out;
}

function parseDimensions(text: string, what: string): number[] {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'scalar') return [];
  const dims = trimmed.split('x').map(Number);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new InputError(`${what}: dimensions '${text}' are not sizes`);
  }
  return dims;
}

function toNumber(value: unknown, what: string): number {
  if (typeof value === 'number') return value;
  if (value === 'nan' || value === '-nan') return NaN;
  if (value === 'inf') return Infinity;
  if (value === '-inf') return -Infinity;
  if (typeof value === 'boolean') return value ? 1 : 0;
  throw new InputError(`${what}: value ${JSON.stringify(value)} is not a number`);
}

function toData(dtype: TensorDtype, values: unknown[], what: string) {
  const data = allocateData(dtype, values.length);
  for (let i = 0; i < values.length; i++) {
    const n = toNumber(values[i], what);
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
      if (!Number.isInteger(n)) throw new InputError(`${what}: ${dtype} value ${n} is not an integer`);
      data[i] = BigInt(n);
    } else if (dtype === 'float16') {
      data[i] = toFloat16Bits(n);
    } else {
      data[i] = n;
    }
  }
  return data;
}

/**
 * `&&&& RUNNING|PASSED|FAILED TensorRT.trtexec [TensorRT v100900]` → '10.9.0'; v8601 → '8.6.1'. This is
 * the version trtexec was COMPILED against (NV_TENSORRT_VERSION, samples/trtexec/trtexec.cpp at v8.6.1
 * and v10.16), not the libnvinfer it loaded: the key uses the probe's library version instead.
 */
export function tensorrtVersionFromBanner(log: string): string | undefined {
  const tag = /TensorRT\.trtexec \[TensorRT v(\d+)\]/.exec(log)?.[1];
  if (tag !== undefined) {
    // 8.x encodes major*1000 + minor*100 + patch (v8601 = 8.6.1); 10.x+ major*10000 + minor*100 + patch.
    const n = Number(tag);
    if (tag.length >= 6) return `${Math.floor(n / 10000)}.${Math.floor(n / 100) % 100}.${n % 100}`;
    return `${Math.floor(n / 1000)}.${Math.floor(n / 100) % 10}.${n % 100}`;
  }
  return /\[I\] TensorRT version: (\d+\.\d+\.\d+)/.exec(log)?.[1];
}

/** Whether trtexec reported success (its last status line). */
export function trtexecPassed(log: string): boolean {
  return /^&&&& PASSED TensorRT\.trtexec/m.test(log) && !/^&&&& FAILED TensorRT\.trtexec/m.test(log);
}

/** `[I] Engine built in 104.774 sec.` → 104.774. */
export function buildSeconds(log: string): number | undefined {
  const s = /Engine built in ([\d.]+) sec/.exec(log)?.[1];
  return s === undefined ? undefined : Number(s);
}

export type TrtFailureKind =
  | 'unsupported-op'
  | 'parse-failed'
  | 'out-of-memory'
  | 'incompatible-engine'
  | 'missing-file'
  | 'shape-mismatch'
  | 'unknown';

export interface TrtFailure {
  kind: TrtFailureKind;
  /** The one line a user reads first. */
  message: string;
}

/** Who is who in TensorRT's "expecting X got Y": X is this host's runtime/GPU, Y the engine's. */
function incompatible(log: string): TrtFailure | undefined {
  const device = /incompatible device, expecting compute (\d+\.\d+) got compute (\d+\.\d+)/.exec(log);
  if (device) {
    return {
      kind: 'incompatible-engine',
      message: `engine was built for compute capability ${device[2]}, this GPU is ${device[1]}: rebuild it on this kind of GPU`,
    };
  }
  const version =
    /not compatible with this version of TensorRT, expecting library version ([\w.]+) got ([\w.]*)/.exec(log);
  if (version) {
    return {
      kind: 'incompatible-engine',
      message: `engine was built with TensorRT ${version[2] || '(unknown version)'}, this host runs TensorRT ${version[1]}: rebuild it with this TensorRT`,
    };
  }
  const serialization = /Serialization assertion [^\n]*failed[^\n]*/.exec(log);
  if (serialization) {
    return {
      kind: 'incompatible-engine',
      message: `engine file does not match this TensorRT's serialization format (${serialization[0].trim()})`,
    };
  }
  return undefined;
}

function unsupportedOp(log: string): TrtFailure | undefined {
  // 10.x parser error summary: "In node 11 with name: /a/GridSample and operator: GridSample3D (fn): INVALID_NODE: ..."
  const named = /In node (\d+) with name: (.*?) and operator: (\S+) \((\w+)\): (\w+): ([^\n]*)/.exec(log);
  if (named) {
    return {
      kind: 'unsupported-op',
      message: `TensorRT cannot import op ${named[3]} (node ${named[1]} '${named[2]}'): ${named[5]}: ${named[6].trim()}`,
    };
  }
  // The parser's node dump: "While parsing node number 267 [Conv -> "out"]:" ... name: "..." ... op_type: "..."
  const parsing = /While parsing node number (\d+) \[(\w+)(?: -> "([^"]*)")?\]/.exec(log);
  const plugin = /Plugin not found|No importer registered for op: (\S+?)\.?\s*$/m.exec(log);
  const reason = detailAfterNode(log);
  if (parsing) {
    const rest = log.slice(parsing.index);
    const nodeName = /^\s*name: "([^"]*)"/m.exec(rest.split('--- End node ---')[0] ?? '')?.[1];
    const node = nodeName ? `'${nodeName}'` : parsing[3] ? `producing '${parsing[3]}'` : '';
    const what = plugin ? 'cannot import op' : 'failed on op';
    return {
      kind: plugin ? 'unsupported-op' : 'parse-failed',
      message: `TensorRT ${what} ${parsing[2]} (node ${parsing[1]}${node ? ` ${node}` : ''})${reason ? `: ${reason}` : ''}`,
    };
  }
  const noImporter =
    /No importer registered for op: ([^\s.]+)/.exec(log) ?? /could not find plugin: (\S+)/.exec(log);
  if (noImporter && plugin) {
    return { kind: 'unsupported-op', message: `TensorRT has no importer or plugin for op ${noImporter[1]}` };
  }
  if (/Failed to parse onnx file|Parsing model failed/.test(log)) {
    return {
      kind: plugin ? 'unsupported-op' : 'parse-failed',
      message: plugin
        ? `TensorRT's ONNX parser found an op it has no importer or plugin for (the log does not name it; rerun trtexec with --verbose)${reason ? `: ${reason}` : ''}`
        : `TensorRT's ONNX parser rejected the model${reason ? `: ${reason}` : ''}`,
    };
  }
  return undefined;
}

/** The parser's "ERROR: file:line In function f:\n[8] Assertion failed: ..." detail, one line. */
function detailAfterNode(log: string): string | undefined {
  const m = /ERROR: [^\n]* In function (\w+):\s*\n(?:\[\d+\] )?([^\n]+)/.exec(log);
  return m ? `${m[1]}: ${m[2]!.trim()}` : undefined;
}

function outOfMemory(log: string): TrtFailure | undefined {
  if (!/OutOfMemory|out of memory|could not be allocated/i.test(log)) return undefined;
  const bytes = /Requested amount of GPU memory \((\d+) bytes\)|Requested size was (\d+) bytes/.exec(log);
  const n = bytes ? Number(bytes[1] ?? bytes[2]) : undefined;
  const size = n === undefined ? '' : ` (${(n / 2 ** 30).toFixed(2)} GiB requested)`;
  const failed =
    /Engine could not be created|buildSerializedNetwork|Engine creation failed|Inference set up failed/.test(
      log,
    );
  return {
    kind: 'out-of-memory',
    message: `GPU ran out of memory${failed ? ' and no engine was built' : ''}${size}: free the GPU, lower --memPoolSize workspace or the profile's max shapes`,
  };
}

function missingFile(log: string): TrtFailure | undefined {
  // Wording from trtexec's sources (not from a recorded run): file readers report the path.
  const m =
    /(?:Cannot open|Could not open|Failed to open|Error opening)(?: engine| input)?(?: file)?:?\s*([^\n]*)/i.exec(
      log,
    ) ?? /No such file or directory:?\s*([^\n]*)/.exec(log);
  if (!m) return undefined;
  return { kind: 'missing-file', message: `trtexec could not open a file${m[1] ? `: ${m[1].trim()}` : ''}` };
}

function shapeMismatch(log: string): TrtFailure | undefined {
  const m = /Error Code 3: API Usage Error \(([^\n]*?(?:dimension mismatch|setInputShape)[^\n]*)/.exec(log);
  if (!m) return undefined;
  return { kind: 'shape-mismatch', message: `the engine refused the input shape: ${m[1]!.trim()}` };
}

/**
 * One clear line for a trtexec failure, from its combined stdout+stderr. Order matters: an
 * incompatible engine is named before the generic deserialization failure that follows it, an
 * unsupported op before the "Engine set up failed" that follows it.
 */
export function explainTrtexecFailure(log: string): TrtFailure {
  const found =
    incompatible(log) ?? unsupportedOp(log) ?? outOfMemory(log) ?? shapeMismatch(log) ?? missingFile(log);
  if (found) return found;
  const lastError = log
    .split('\n')
    .filter((line) => /\[E\]|ERROR|Error/.test(line))
    .map((line) => line.replace(/^\[[\d/:-]+\] /, '').trim())
    .filter((line) => !/^\[E\] Engine set up failed$/.test(line))
    .at(0);
  return {
    kind: 'unknown',
    message: lastError ?? 'trtexec failed without an error line (rerun with --verbose)',
  };
}
