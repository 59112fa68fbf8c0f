import type { Shapes } from '../shape-routing.js';

/** An observed shape: bare dims (one input) or dims per input name. */
export type ObservedShape = readonly number[] | Shapes;

export interface ShapeCount {
  shape: ObservedShape;
  /** How many requests had this shape (a positive number; need not be whole). */
  count: number;
}

export interface SuggestOptions {
  /**
   * The input name bare shapes belong to (default `x`). With named shapes, keeps only this input and
   * drops the others.
   */
  input?: string;
}

export interface SuggestedBucket {
  /** A profile name made of the bucket's varying dims, e.g. `s384x512`. */
  name: string;
  shapes: Record<string, number[]>;
  /** Requests this bucket serves (sum of counts). */
  requests: number;
  /** Σ count × elements of the requests served. */
  realElements: number;
  /** Σ count × padding elements added. */
  paddedElements: number;
  /** Padding as a share of the elements this bucket's engine computes, 0–100. */
  wastePct: number;
}

export interface Suggestion {
  /** `exact` for zero or one varying dim (dynamic program), `heuristic` for several. */
  method: 'exact' | 'heuristic';
  /** The dims the observed shapes differ in. */
  varying: { input: string; dim: number }[];
  distinctShapes: number;
  requests: number;
  realElements: number;
  paddedElements: number;
  /** Padding as a share of all elements the engines compute, 0–100. */
  wastePct: number;
  /** Smallest first; at most k (fewer when there are fewer distinct shapes). */
  buckets: SuggestedBucket[];
}

/** One input's place in the flattened dims vector. */
export interface Segment {
  name: string;
  start: number;
  rank: number;
}

/**
 * Most distinct shapes one suggestion takes: the exact program is O(n²k), so 2,000 shapes at 64
 * engines is seconds and 100,000 would be hours. Real serving logs bucket far below this.
 */
export const MAX_DISTINCT_SHAPES = 2000;

export interface Point {
  dims: number[];
  count: number;
}
