import { performance } from 'node:perf_hooks';

/** Time source, injectable so benchmark logic is tested without sleeping. */
export interface Clock {
  /** Milliseconds from an arbitrary origin, monotonic. */
  now(): number;
}

export const systemClock: Clock = { now: () => performance.now() };
