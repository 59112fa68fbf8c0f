import { PRECISIONS } from './config-schema.js';

/**
 * Locale-independent string order (by UTF-16 code unit), so reports and keys sort the same on every
 * machine whatever its locale.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** fp32, fp16, int8, then anything unknown: the order precisions read best in tables. */
export function precisionRank(precision: string): number {
  const rank = (PRECISIONS as readonly string[]).indexOf(precision);
  return rank === -1 ? PRECISIONS.length : rank;
}
