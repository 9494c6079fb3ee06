/**
 * Programmer-error checks. A failed assertion is our bug, never a bad peer: it throws and the
 * daemon crashes (a supervisor restarts it). Remote input must be handled as values instead.
 */

/** Thrown when an internal invariant does not hold. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/** Throws an {@link AssertionError} when `condition` is false. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Marks a switch as exhaustive: adding a union member fails to compile at the call site. */
export function assertNever(value: never, message = "unexpected value"): never {
  throw new AssertionError(`${message}: ${JSON.stringify(value)}`);
}
