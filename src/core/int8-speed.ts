/**
 * Does int8 pay? Each int8 engine's p50 against the fp32 engine of the same model, profile and target
 * in the same build. int8 is not always faster on a CPU: on PP-OCR's small classifier the Q/DQ
 * boundaries cost more than the int8 kernels save (0.69× of fp32), and a PR should hear so.
 */
import type { EngineResult } from './results.js';

/** `gates.int8SlowerThanFp32`: refuse (exit 1, failed check) or only report an int8 engine slower than fp32. */
export type Int8SpeedGate = 'fail' | 'warn';

const pairKey = (e: Pick<EngineResult, 'model' | 'profile' | 'target'>) =>
  JSON.stringify([e.model, e.profile, e.target]);

const usable = (ms: number | null | undefined): ms is number =>
  typeof ms === 'number' && Number.isFinite(ms) && ms > 0;

/**
 * The engines with `int8SpeedupVsFp32` (fp32 p50 / int8 p50; > 1: int8 is faster) set on every int8
 * engine: null, with `int8SpeedupDetail` saying why, when there is no fp32 engine of the same profile
 * in the build or either p50 is missing. Latencies come from the build's own bench, both on this
 * host; a cache hit's were measured when it was built, on a host with the same hardware key.
 */
export function compareInt8WithFp32(engines: readonly EngineResult[]): EngineResult[] {
  const fp32 = new Map(engines.filter((e) => e.precision === 'fp32').map((e) => [pairKey(e), e]));
  return engines.map((engine) => {
    if (engine.precision !== 'int8') return engine;
    const base = fp32.get(pairKey(engine));
    if (!base) {
      return {
        ...engine,
        int8SpeedupVsFp32: null,
        int8SpeedupDetail: `no fp32 engine of profile '${engine.profile}' in this build to compare with (add fp32 to models[].precisions)`,
      };
    }
    const int8Ms = engine.latency.engine.p50;
    const fp32Ms = base.latency.engine.p50;
    if (!usable(int8Ms) || !usable(fp32Ms)) {
      return {
        ...engine,
        int8SpeedupVsFp32: null,
        int8SpeedupDetail: `p50 not measured (int8 ${String(int8Ms)} ms, fp32 ${String(fp32Ms)} ms)`,
      };
    }
    const stored = engine.cache === 'hit' || base.cache === 'hit' ? ', stored figures of a cache hit' : '';
    return {
      ...engine,
      int8SpeedupVsFp32: fp32Ms / int8Ms,
      int8SpeedupDetail: `p50 int8 ${int8Ms.toFixed(2)} ms vs fp32 ${fp32Ms.toFixed(2)} ms${stored}`,
    };
  });
}

/** An int8 engine the gate objects to: slower than fp32, or not compared (which blocks too: fail closed). */
export function int8SpeedProblem(engine: EngineResult): string | undefined {
  if (engine.precision !== 'int8' || engine.int8SpeedupVsFp32 === undefined) return undefined;
  const speedup = engine.int8SpeedupVsFp32;
  if (speedup === null) return `int8 speed vs fp32 unknown: ${engine.int8SpeedupDetail ?? 'not measured'}`;
  if (speedup < 1) return `int8 slower than fp32 (${speedup.toFixed(2)}×)`;
  return undefined;
}

/** The build's int8-speed verdict: `pass` when no int8 engine is slower or uncompared, else the gate's mode. */
export function int8SpeedVerdict(
  engines: readonly EngineResult[],
  gate: Int8SpeedGate,
): 'pass' | Int8SpeedGate {
  return engines.some((e) => int8SpeedProblem(e) !== undefined) ? gate : 'pass';
}
