import { InputError } from './errors.js';

/**
 * Shape routing (docs/failure-modes.md "Shape profiles", `kiln route`): which profile's engine serves a request
 * of given input shapes. Pure: it reads profiles as the config states them and never opens a model,
 * so serving code can call it per request.
 */

/** Per input name, its dims. */
export type Shapes = Readonly<Record<string, readonly number[]>>;

/** A fixed profile pins every dim; an engine built for it serves smaller requests by padding. */
export interface FixedRouteProfile {
  readonly name: string;
  readonly shapes: Shapes;
}

/** A ranged profile accepts any request with min ≤ dim ≤ max in every dim, unpadded. */
export interface RangedRouteProfile {
  readonly name: string;
  readonly min: Shapes;
  readonly opt?: Shapes;
  readonly max: Shapes;
}

/** Structurally the config's `ProfileConfig`, so `model.profiles` can be passed as is. */
export type RouteProfile = FixedRouteProfile | RangedRouteProfile;

export interface RouteOptions {
  /** The model's name, for messages. */
  model?: string;
  /**
   * Per input, the dim indices that may be padded. Default: {@link varyingDims} of the profiles, i.e.
   * the dims the profiles disagree on (dynamic dims); a dim every profile gives the same value (the
   * channel count, say) is taken as static and must match exactly.
   */
  paddable?: Readonly<Record<string, readonly number[]>>;
}

export interface Route {
  /** The chosen profile's name. */
  profile: string;
  /** Per input, per dim, how many elements to pad at the end (all zeros for an exact or ranged fit). */
  padding: Record<string, number[]>;
  /** Elements added by padding, summed over inputs. */
  paddedElements: number;
  /** Share of the engine's input elements that is padding: paddedElements / (real + padded), 0–1. */
  wasteRatio: number;
}

export interface ProfileFit {
  padding: Record<string, number[]>;
  paddedElements: number;
}

export function isRangedProfile(profile: RouteProfile): profile is RangedRouteProfile {
  return 'min' in profile;
}

/** The inputs a profile names (a ranged profile's min names them all). */
export function profileInputs(profile: RouteProfile): string[] {
  return Object.keys(isRangedProfile(profile) ? profile.min : profile.shapes);
}

/** Product of the dims; 1 for a scalar. */
export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Total elements over every input. */
export function totalElements(shapes: Shapes): number {
  return Object.values(shapes).reduce((sum, dims) => sum + elementCount(dims), 0);
}

/** `1x3x640x640`. */
export function formatDims(dims: readonly number[]): string {
  return dims.join('x');
}

/** `x=1x3x640x640 y=1x2`. */
export function formatShapes(shapes: Shapes): string {
  return Object.entries(shapes)
    .map(([name, dims]) => `${name}=${formatDims(dims)}`)
    .join(' ');
}

/**
 * Dims as written on a command line or in a histogram: `1x3x400x400` (also `1,3,400,400` or
 * `1×3×400×400`). Undefined unless every dim is a whole number ≥ 1.
 */
export function parseDims(text: string): number[] | undefined {
  const parts = text.trim().split(/\s*[x×,]\s*/);
  if (parts.length === 0 || parts.some((p) => !/^[0-9]+$/.test(p))) return undefined;
  const dims = parts.map(Number);
  return dims.every((d) => Number.isSafeInteger(d) && d >= 1) ? dims : undefined;
}

/**
 * Per input, the dims the profiles do not all agree on: values differ between fixed profiles, or a
 * ranged profile's min and max differ, or a ranged bound differs from a fixed value. These are the
 * model's dynamic dims as far as the config tells, and the only ones routing pads by default.
 */
export function varyingDims(profiles: readonly RouteProfile[]): Record<string, number[]> {
  const seen = new Map<string, Map<number, Set<number>>>();
  const note = (shapes: Shapes) => {
    for (const [name, dims] of Object.entries(shapes)) {
      const perInput = seen.get(name) ?? new Map<number, Set<number>>();
      seen.set(name, perInput);
      dims.forEach((d, i) => perInput.set(i, (perInput.get(i) ?? new Set()).add(d)));
    }
  };
  for (const profile of profiles) {
    if (isRangedProfile(profile)) {
      note(profile.min);
      note(profile.max);
    } else note(profile.shapes);
  }
  const result: Record<string, number[]> = {};
  for (const [name, perInput] of seen) {
    result[name] = [...perInput]
      .filter(([, values]) => values.size > 1)
      .map(([i]) => i)
      .sort((a, b) => a - b);
  }
  return result;
}

/**
 * How `profile` serves `shapes`, or undefined when it cannot. A fixed profile fits when it names the
 * same inputs with the same ranks and every request dim is ≤ the profile's, where a smaller dim must
 * be paddable; a ranged profile fits when min ≤ dim ≤ max everywhere, with no padding.
 */
export function profileFit(
  profile: RouteProfile,
  shapes: Shapes,
  paddable: Readonly<Record<string, readonly number[]>>,
): ProfileFit | undefined {
  const names = Object.keys(shapes);
  const inputs = profileInputs(profile);
  if (inputs.length !== names.length || !inputs.every((n) => Object.hasOwn(shapes, n))) return undefined;
  const padding: Record<string, number[]> = {};
  let paddedElements = 0;
  for (const name of names) {
    const dims = shapes[name]!;
    if (isRangedProfile(profile)) {
      const min = profile.min[name]!;
      const max = profile.max[name];
      if (!max || min.length !== dims.length || max.length !== dims.length) return undefined;
      if (dims.some((d, i) => d < min[i]! || d > max[i]!)) return undefined;
      padding[name] = dims.map(() => 0);
      continue;
    }
    const fixed = profile.shapes[name]!;
    if (fixed.length !== dims.length) return undefined;
    const allowed = paddable[name] ?? [];
    const pad = dims.map((d, i) => fixed[i]! - d);
    if (pad.some((p, i) => p < 0 || (p > 0 && !allowed.includes(i)))) return undefined;
    padding[name] = pad;
    paddedElements += elementCount(fixed) - elementCount(dims);
  }
  return { padding, paddedElements };
}

/**
 * The profile whose engine serves `shapes`: of the profiles that fit (see {@link profileFit}), the one
 * needing the fewest padded elements; ties go to the earlier profile, so a ranged profile that takes
 * the request as is beats any fixed profile that would pad it. Throws an InputError (one line) when
 * the input names do not match the model's, or when no profile fits.
 */
export function routeShape(
  profiles: readonly RouteProfile[],
  shapes: Shapes,
  options: RouteOptions = {},
): Route {
  const label = options.model === undefined ? 'the model' : `model ${options.model}`;
  checkRequest(profiles, shapes, label);
  const paddable = options.paddable ?? varyingDims(profiles);
  let best: (ProfileFit & { name: string }) | undefined;
  for (const profile of profiles) {
    const fit = profileFit(profile, shapes, paddable);
    if (fit && (!best || fit.paddedElements < best.paddedElements)) best = { ...fit, name: profile.name };
  }
  if (!best) throw new InputError(noFitMessage(profiles, shapes, label, paddable, options.paddable));
  const real = totalElements(shapes);
  return {
    profile: best.name,
    padding: best.padding,
    paddedElements: best.paddedElements,
    wasteRatio: best.paddedElements === 0 ? 0 : best.paddedElements / (real + best.paddedElements),
  };
}

function checkRequest(profiles: readonly RouteProfile[], shapes: Shapes, label: string): void {
  if (profiles.length === 0) throw new InputError(`${label} has no profiles to route to`);
  const known = [...new Set(profiles.flatMap(profileInputs))];
  const required = known.filter((n) => profiles.every((p) => profileInputs(p).includes(n)));
  const names = Object.keys(shapes);
  const list = known.join(', ');
  const extra = names.find((n) => !known.includes(n));
  if (extra !== undefined) throw new InputError(`${label} has no input '${extra}' (inputs: ${list})`);
  const missing = required.find((n) => !names.includes(n));
  if (missing !== undefined) {
    throw new InputError(`no shape given for input '${missing}' of ${label} (inputs: ${list})`);
  }
  for (const [name, dims] of Object.entries(shapes)) {
    if (!Array.isArray(dims) || dims.length === 0 || !dims.every((d) => Number.isSafeInteger(d) && d >= 1)) {
      throw new InputError(
        `input '${name}' of ${label}: found ${JSON.stringify(dims)}, expected dims that are whole numbers ≥ 1`,
      );
    }
    const ranks = new Set(
      profiles.flatMap((p) => {
        const given = isRangedProfile(p) ? p.min[name] : p.shapes[name];
        return given ? [given.length] : [];
      }),
    );
    if (!ranks.has(dims.length)) {
      throw new InputError(
        `${name}=${formatDims(dims)} has rank ${dims.length}, but the profiles of ${label} give ${name} rank ${[...ranks].join(' or ')}`,
      );
    }
  }
}

function noFitMessage(
  profiles: readonly RouteProfile[],
  shapes: Shapes,
  label: string,
  paddable: Readonly<Record<string, readonly number[]>>,
  explicit: RouteOptions['paddable'],
): string {
  const show = (s: Shapes) =>
    Object.keys(s).length === 1 ? formatDims(Object.values(s)[0]!) : formatShapes(s);
  const notes: string[] = [];
  let largest: FixedRouteProfile | undefined;
  for (const p of profiles) {
    if (!isRangedProfile(p) && (!largest || totalElements(p.shapes) > totalElements(largest.shapes))) {
      largest = p;
    }
  }
  if (largest) notes.push(`largest: ${largest.name} ${show(largest.shapes)}`);
  for (const p of profiles) {
    if (!isRangedProfile(p)) continue;
    const belowMin = Object.entries(shapes).some(([n, dims]) =>
      dims.some((d, i) => d < (p.min[n]?.[i] ?? 0)),
    );
    notes.push(`ranged ${p.name} allows ${belowMin ? `${show(p.min)} ` : ''}up to ${show(p.max)}`);
  }
  // Dims that a fixed profile could have served by padding, had padding them been allowed.
  const blocked = new Map<string, Set<number>>();
  for (const p of profiles) {
    if (isRangedProfile(p) || !coversAll(p, shapes)) continue;
    for (const [name, dims] of Object.entries(shapes)) {
      const fixed = p.shapes[name]!;
      dims.forEach((d, i) => {
        if (d < fixed[i]! && !(paddable[name] ?? []).includes(i)) {
          blocked.set(name, (blocked.get(name) ?? new Set()).add(i));
        }
      });
    }
  }
  const why = explicit ? 'not listed as paddable' : 'equal in every profile, so taken as static';
  const hints = [...blocked].map(([name, dims]) => {
    const list = [...dims].sort((a, b) => a - b);
    return `${name} dim${list.length > 1 ? 's' : ''} ${list.join(',')} ${list.length > 1 ? 'are' : 'is'} not padded (${why})`;
  });
  return `no profile of ${label} serves ${formatShapes(shapes)} (${notes.join('; ')})${hints.length > 0 ? `; ${hints.join('; ')}` : ''}`;
}

/** Whether a fixed profile names the request's inputs with dims ≥ the request's everywhere. */
function coversAll(profile: FixedRouteProfile, shapes: Shapes): boolean {
  const inputs = Object.keys(profile.shapes);
  return (
    inputs.length === Object.keys(shapes).length &&
    Object.entries(shapes).every(([name, dims]) => {
      const fixed = profile.shapes[name];
      return fixed !== undefined && fixed.length === dims.length && dims.every((d, i) => d <= fixed[i]!);
    })
  );
}
