import { expect } from 'vitest';
import { UsageError } from '../../src/errors.js';

/** Run fn and return the UsageError it throws (fails the test otherwise). */
export function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected a UsageError');
}
