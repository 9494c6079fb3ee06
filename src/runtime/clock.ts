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
  /**
   * Calls `onDue` once at `deadlineMs` (at once, asynchronously, if that has passed) unless the
   * returned function is called first. Shells use it to wake a core at its next deadline.
   */
  at(deadlineMs: number, onDue: () => void): () => void;
}

/** Real time: `performance.now()`, `setInterval` and `setTimeout`. */
export const systemClock: Clock = {
  nowMs: () => performance.now(),
  every: (intervalMs, onTick) => {
    assert(intervalMs > 0, "tick interval must be positive");
    const handle = setInterval(onTick, intervalMs);
    return () => clearInterval(handle);
  },
  at: (deadlineMs, onDue) => {
    assert(!Number.isNaN(deadlineMs), "deadline must be a number");
    // Rounded up: a timer that fires before the deadline would find nothing due and re-arm.
    const handle = setTimeout(onDue, Math.max(0, Math.ceil(deadlineMs - performance.now())));
    return () => clearTimeout(handle);
  },
};

interface Ticker {
  /** 0 for a one-shot. */
  readonly intervalMs: number;
  nextMs: number;
  readonly onTick: () => void;
  /** Creation order: breaks ties between entries due at the same time. */
  readonly order: number;
}

/** Test clock: time moves only when the test says so; due tickers and one-shots fire in time order. */
export class ManualClock implements Clock {
  #nowMs: number;
  #createdCount = 0;
  /** BOUNDED: one entry per live every() or pending at() call; tests and shells keep a handful. */
  readonly #tickers: Ticker[] = [];

  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  every(intervalMs: number, onTick: () => void): () => void {
    assert(intervalMs > 0, "tick interval must be positive");
    return this.#add({ intervalMs, nextMs: this.#nowMs + intervalMs, onTick, order: this.#createdCount++ });
  }

  /** A past deadline fires at the current time: later in the advance() under way, or in the next one; never re-entrantly. */
  at(deadlineMs: number, onDue: () => void): () => void {
    assert(!Number.isNaN(deadlineMs), "deadline must be a number");
    const nextMs = Math.max(deadlineMs, this.#nowMs);
    return this.#add({ intervalMs: 0, nextMs, onTick: onDue, order: this.#createdCount++ });
  }

  /** Pending one-shots and live tickers (for tests of shells that must not leak timers). */
  get scheduledCount(): number {
    return this.#tickers.length;
  }

  #add(ticker: Ticker): () => void {
    this.#tickers.push(ticker);
    return () => this.#remove(ticker);
  }

  #remove(ticker: Ticker): void {
    const index = this.#tickers.indexOf(ticker);
    if (index >= 0) this.#tickers.splice(index, 1);
  }

  /** Moves time forward by `ms`, firing every ticker and one-shot that falls due, earliest first. */
  advance(ms: number): void {
    assert(ms >= 0, "time cannot go backwards");
    const targetMs = this.#nowMs + ms;
    for (;;) {
      let next: Ticker | undefined;
      for (const ticker of this.#tickers) {
        if (ticker.nextMs > targetMs) continue;
        if (
          next === undefined ||
          ticker.nextMs < next.nextMs ||
          (ticker.nextMs === next.nextMs && ticker.order < next.order)
        ) {
          next = ticker;
        }
      }
      if (next === undefined) break;
      this.#nowMs = next.nextMs;
      if (next.intervalMs === 0) this.#remove(next);
      else next.nextMs += next.intervalMs;
      next.onTick();
    }
    this.#nowMs = targetMs;
  }
}
