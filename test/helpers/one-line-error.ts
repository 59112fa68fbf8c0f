import { expect } from 'vitest';
import { KilnError } from '../../src/core/errors.js';

/** Awaits a promise that must reject with a KilnError of one line (what the CLI shows), and returns it. */
export async function oneLineKilnError(promise: Promise<unknown>): Promise<KilnError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KilnError);
  expect((error as Error).message).not.toContain('\n');
  return error as KilnError;
}
