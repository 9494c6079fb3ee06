/**
 * Time is injected: protocol code learns the time only through a {@link Clock} (or as a `nowMs`
 * argument) so that a {@link ManualClock} replays every run exactly in tests.
 */
import { assert } from "./assert.js";

/** The only way protocol code learns the time or schedules work. */
export interface Clock {
  /** Monotonic milliseconds. Only differences are meaningful. */
  nowMs(): number;
  /** Calls `onTick` every `intervalMs` until the returned function is called. */
  every(intervalMs: number, onTick: () => void): () => void;
}

/** Real time: `performance.now()` and `setInterval` (unref'd so it never holds the process open). */
export const systemClock: Clock = {
  nowMs: () => performance.now(),
  every: (intervalMs, onTick) => {
    assert(intervalMs > 0, "tick interval must be positive");
    const handle = setInterval(onTick, intervalMs);
    return () => clearInterval(handle);
  },
};

interface Ticker {
  readonly intervalMs: number;
  nextMs: number;
  readonly onTick: () => void;
  isActive: boolean;
}

/** Test clock: time moves only when the test says so; due tickers fire in time order. */
export class ManualClock implements Clock {
  #nowMs: number;
  /** BOUNDED: one entry per every() call; tests create a handful. */
  readonly #tickers: Ticker[] = [];

  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  every(intervalMs: number, onTick: () => void): () => void {
    assert(intervalMs > 0, "tick interval must be positive");
    const ticker: Ticker = { intervalMs, nextMs: this.#nowMs + intervalMs, onTick, isActive: true };
    this.#tickers.push(ticker);
    return () => {
      ticker.isActive = false;
      const index = this.#tickers.indexOf(ticker);
      if (index >= 0) this.#tickers.splice(index, 1);
    };
  }

  /** Moves time forward by `ms`, firing every ticker that falls due, earliest first. */
  advance(ms: number): void {
    assert(ms >= 0, "time cannot go backwards");
    const targetMs = this.#nowMs + ms;
    for (;;) {
      let next: Ticker | undefined;
      for (const ticker of this.#tickers) {
        if (ticker.nextMs <= targetMs && (next === undefined || ticker.nextMs < next.nextMs)) next = ticker;
      }
      if (next === undefined) break;
      this.#nowMs = next.nextMs;
      next.nextMs += next.intervalMs;
      next.onTick();
    }
    this.#nowMs = targetMs;
  }
}
