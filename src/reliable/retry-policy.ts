/**
 * Retransmission schedules as readable tables (as nats.js does with `backoff`): the delay before the
 * second, third, ... send of a datagram, the last entry repeating. Deadlines are data, driven by ticks.
 */
import { assert } from "../runtime/assert.js";

/** A retransmission schedule. */
export interface RetryPolicy {
  /** Delay before each resend, in ms; the last entry repeats until the entry is settled or expires. */
  readonly delaysMs: readonly number[];
}

/** Builds a policy, checking every delay is positive. */
export function retryPolicy(delaysMs: readonly number[]): RetryPolicy {
  assert(delaysMs.length > 0, "a retry policy needs at least one delay");
  for (const delayMs of delaysMs) assert(Number.isFinite(delayMs) && delayMs > 0, `bad retry delay ${delayMs}`);
  return { delaysMs: [...delaysMs] };
}

/** Delay before send number `sendCount + 1` (sendCount >= 1 sends already made). */
export function nextDelayMs(policy: RetryPolicy, sendCount: number): number {
  assert(sendCount >= 1, "nextDelayMs is asked after the first send");
  const index = Math.min(sendCount - 1, policy.delaysMs.length - 1);
  return policy.delaysMs[index] as number;
}
