/**
 * The task function of SPEC section 4: h0 = input, h(i+1) = sha256hex(h(i)), result = h(rounds).
 * Anyone can check a result with it, and the client does.
 */
import { createHash } from "node:crypto";

import { assert } from "../runtime/assert.js";

/** Applies `rounds` SHA-256 steps to `digest` (UTF-8 of the string, lowercase hex out). */
export function sha256Steps(start: string, rounds: number): string {
  assert(Number.isInteger(rounds) && rounds >= 0, "rounds must be a non-negative integer");
  let digest = start;
  for (let i = 0; i < rounds; i += 1) digest = createHash("sha256").update(digest, "utf8").digest("hex");
  return digest;
}

/** The result of a task `{input, rounds}`. */
export function evaluateTask(input: string, rounds: number): string {
  return sha256Steps(input, rounds);
}

/** Rounds computed per slice before yielding to the event loop (about 2-5 ms of work). */
export const ROUNDS_PER_SLICE = 5_000;

/**
 * Computes a task in slices, yielding between them so heartbeats and packets keep flowing. When
 * `isAbandoned` says so between slices (the copy was cancelled), it stops and resolves undefined.
 */
export async function evaluateTaskSliced(
  input: string,
  rounds: number,
  isAbandoned: () => boolean = () => false,
): Promise<string | undefined> {
  let digest = input;
  let remaining = rounds;
  while (remaining > 0) {
    if (isAbandoned()) return undefined;
    const step = Math.min(remaining, ROUNDS_PER_SLICE);
    digest = sha256Steps(digest, step);
    remaining -= step;
    if (remaining > 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return digest;
}
