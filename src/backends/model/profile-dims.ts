import type { EngineProfile } from '../backend.js';

/**
 * The dims a backend may pin for a profile: every dim of a fixed profile; for a ranged profile only
 * the dims where min and max agree (the rest stay dynamic for backends that can serve a range).
 */
export function pinnedDims(profile: EngineProfile): Record<string, Array<number | null>> {
  if ('shapes' in profile) return profile.shapes;
  return Object.fromEntries(
    Object.entries(profile.min).map(([name, min]) => {
      const max = profile.max[name] ?? [];
      return [name, min.map((d, i) => (d === max[i] ? d : null))];
    }),
  );
}

/** Shapes the golden suite feeds: the fixed shape, or opt, min and max of a range (boundaries count). */
export function goldenShapes(profile: EngineProfile): Array<Record<string, number[]>> {
  if ('shapes' in profile) return [profile.shapes];
  return [profile.opt, profile.min, profile.max];
}

/** The shape the benchmark measures: the fixed shape, or a range's opt. */
export function benchShapes(profile: EngineProfile): Record<string, number[]> {
  return 'shapes' in profile ? profile.shapes : profile.opt;
}
