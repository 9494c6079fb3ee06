/**
 * Replay protection across senders: one {@link ReplayWindow} per sender id, plus a freshness bound on
 * the sender's timestamp. A restarted daemon draws a new random sender id, so its counters start
 * anew and are accepted at once; a datagram from an earlier life keeps failing because its window is
 * remembered, and once that window is forgotten (after {@link REPLAY_MEMORY_MS} of silence) its
 * timestamp is older than {@link CLOCK_SKEW_MS_MAX} and fails the freshness bound instead. Pure: the
 * caller passes the time.
 */
import { assert } from "../runtime/assert.js";
import { ReplayWindow } from "./replay-window.js";

/**
 * Largest difference between a sender's clock and ours that we accept (ms). Clocks of hosts running
 * NTP agree within well under a second; two minutes also covers hosts without it for a while.
 */
export const CLOCK_SKEW_MS_MAX = 120_000;
/**
 * How long a silent sender's window is kept (ms). Anything it sent before that is older than the
 * skew bound by then, so forgetting the window cannot reopen a replay.
 */
export const REPLAY_MEMORY_MS = 2 * CLOCK_SKEW_MS_MAX + 10_000;
/** Default most senders remembered at once (each ~300 bytes). */
export const REPLAY_SENDERS_MAX_DEFAULT = 16_384;

/** A replay verdict: accepted, or refused with a reason for the counters. */
export type ReplayCheck = "accepted" | "duplicate" | "too_old" | "stale_time" | "senders_full";

interface SenderEntry {
  readonly window: ReplayWindow;
  lastSeenMs: number;
}

/** Replay windows for up to `sendersMax` senders. */
export class ReplayGuard {
  /** BOUNDED: at most `sendersMax` senders; Map order is least recently seen first. */
  readonly #senders = new Map<string, SenderEntry>();
  readonly #sendersMax: number;

  constructor(sendersMax = REPLAY_SENDERS_MAX_DEFAULT) {
    assert(Number.isInteger(sendersMax) && sendersMax >= 1, "sendersMax is a positive integer");
    this.#sendersMax = sendersMax;
  }

  /** Number of senders remembered. */
  get size(): number {
    return this.#senders.size;
  }

  /**
   * Accepts (and records) the counter of an authenticated datagram, or says why not. `nowMs` is this
   * host's wall clock; `timeMs` the sender's, from the envelope.
   */
  accept(sender: string, counter: number, timeMs: number, nowMs: number): ReplayCheck {
    if (Math.abs(nowMs - timeMs) > CLOCK_SKEW_MS_MAX) return "stale_time";
    let entry = this.#senders.get(sender);
    if (entry === undefined) {
      if (!this.#makeRoom(nowMs)) return "senders_full";
      entry = { window: new ReplayWindow(), lastSeenMs: nowMs };
    }
    const verdict = entry.window.accept(counter);
    if (verdict !== "fresh") return verdict;
    // Move to the end: the Map stays ordered by last sight, so eviction looks at the front only.
    this.#senders.delete(sender);
    entry.lastSeenMs = nowMs;
    this.#senders.set(sender, entry);
    return "accepted";
  }

  /** Forgets senders silent for REPLAY_MEMORY_MS; true if there is room for one more. */
  #makeRoom(nowMs: number): boolean {
    for (const [sender, entry] of this.#senders) {
      if (this.#senders.size < this.#sendersMax && nowMs - entry.lastSeenMs < REPLAY_MEMORY_MS) break;
      if (nowMs - entry.lastSeenMs < REPLAY_MEMORY_MS) return false;
      this.#senders.delete(sender);
    }
    return this.#senders.size < this.#sendersMax;
  }
}
