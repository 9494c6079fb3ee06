/**
 * Load shedding at the edge: one token bucket per source address in a bounded table, checked before
 * any expensive work (before the HMAC and before decoding), so one flooding source spends its own
 * budget and cannot starve the others. Pure: the caller passes the time.
 */
import { assert } from "../runtime/assert.js";

/** Bucket settings. */
export interface SourceLimiterConfig {
  /** Tokens per second a source earns (a datagram costs 1 + 1 per full KiB, see edgeCost). */
  readonly ratePerS: number;
  /** Tokens a source may spend in one burst (the bucket's size); at least the largest datagram's cost. */
  readonly burst: number;
  /** Most sources tracked at once; see {@link SourceLimiter.allow} for what happens beyond. */
  readonly sourcesMax: number;
}

/**
 * Defaults: far above what any one peer of a healthy cluster sends (the benchmark's client at
 * window 64 sends a few thousand datagrams a second), far below what one CPU can receive.
 */
export const SOURCE_LIMITER_DEFAULTS: SourceLimiterConfig = { ratePerS: 20_000, burst: 4_000, sourcesMax: 4_096 };

/**
 * Tokens a datagram of `bytes` costs: 1, plus 1 per full KiB, so a flood of large datagrams (each
 * an HMAC over up to 16 KiB) is shed as early as a flood of small ones.
 */
export function edgeCost(bytes: number): number {
  return 1 + (bytes >>> 10);
}

interface Bucket {
  tokens: number;
  refilledMs: number;
}

/** Per-source token buckets. */
export class SourceLimiter {
  /** BOUNDED: at most `sourcesMax` buckets; Map order is insertion order, oldest first. */
  readonly #buckets = new Map<string, Bucket>();
  readonly #config: SourceLimiterConfig;
  readonly #perMs: number;

  constructor(config: SourceLimiterConfig = SOURCE_LIMITER_DEFAULTS) {
    assert(config.ratePerS > 0 && config.burst >= 1 && config.sourcesMax >= 1, "limiter settings are positive");
    this.#config = config;
    this.#perMs = config.ratePerS / 1_000;
  }

  /** Number of sources tracked. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes one token for `source` at `nowMs` (monotonic). A full table forgets its least recently
   * active source (whose bucket would have refilled first anyway), so new sources are never locked
   * out; a forgotten source starts again with a full bucket, which bounds what churn can gain to
   * `burst` per new address.
   */
  allow(source: string, nowMs: number, cost = 1): boolean {
    let bucket = this.#buckets.get(source);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#config.sourcesMax) {
        const oldest = this.#buckets.keys().next();
        if (oldest.done !== true) this.#buckets.delete(oldest.value);
      }
      bucket = { tokens: this.#config.burst, refilledMs: nowMs };
      this.#buckets.set(source, bucket);
    } else if (nowMs > bucket.refilledMs) {
      bucket.tokens = Math.min(this.#config.burst, bucket.tokens + (nowMs - bucket.refilledMs) * this.#perMs);
      bucket.refilledMs = nowMs;
    }
    if (bucket.tokens < cost) return false;
    bucket.tokens -= cost;
    return true;
  }
}
