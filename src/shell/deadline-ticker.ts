/**
 * Ticks a hosted core when it has something due instead of at a fixed interval: one one-shot timer
 * armed at the core's `nextDeadlineMs()`, moved earlier after any packet or apply that brings a
 * deadline forward, and re-armed after every tick. A coarse safety tick runs as well, so a deadline
 * the core computes too late delays work by at most `safetyTickMs` instead of stalling it.
 * Timers live here, in the shell; the core only answers "when next?". A timer that fires at least
 * STALL_MS_MIN late means the event loop stalled (a GC pause, a busy host); `onStall` hears of it
 * before the tick, so a core can allow for input that queued unread behind the stall.
 */
import { assert } from "../runtime/assert.js";
import type { Clock } from "../runtime/clock.js";
import type { CoreHost } from "./core-host.js";

/** Interval of the safety tick (ms): the most a mis-computed deadline can delay a core's work. */
export const SAFETY_TICK_MS = 250;
/** Lateness (ms) of a timer taken as an event-loop stall; Node's timers are normally late by about 1 ms. */
export const STALL_MS_MIN = 5;

/** Options of a {@link DeadlineTicker}. */
export interface DeadlineTickerOptions {
  /**
   * Least time (ms) between two deadline ticks (the daemons' `tickMs`): deadlines are met to this
   * resolution, as with the fixed interval it replaces, and a core cannot be ticked more often than
   * that, even if it keeps reporting a deadline that has passed.
   */
  readonly tickSpacingMs: number;
  readonly safetyTickMs?: number;
  /**
   * Told, just before the tick, that the loop may have been blocked since `sinceMs` (the last packet,
   * apply or tick it handled: anything that arrived before was read) until `nowMs`, when a timer fired
   * at least STALL_MS_MIN late.
   */
  readonly onStall?: (nowMs: number, sinceMs: number) => void;
}

/** Drives `host.tick()` from its core's deadlines; stop() cancels every timer it holds. */
export class DeadlineTicker<O extends { kind: string }> {
  readonly #clock: Clock;
  readonly #host: CoreHost<O>;
  readonly #nextDeadlineMs: () => number | undefined;
  readonly #stopSafetyTick: () => void;
  readonly #tickSpacingMs: number;
  /** Time the one-shot is armed for; +Infinity when none is armed. */
  #armedMs = Number.POSITIVE_INFINITY;
  #lastTickMs = Number.NEGATIVE_INFINITY;
  /** Last time the host handled anything (a packet, an apply or a tick). */
  #lastEventMs: number;
  /** When the safety tick is next due. */
  #safetyDueMs: number;
  readonly #onStall: DeadlineTickerOptions["onStall"];
  #cancelArmed: (() => void) | undefined;
  #isStopped = false;

  constructor(clock: Clock, host: CoreHost<O>, options: DeadlineTickerOptions) {
    const core = host.core;
    const safetyTickMs = options.safetyTickMs ?? SAFETY_TICK_MS;
    assert(core.nextDeadlineMs !== undefined, "a deadline-ticked core must implement nextDeadlineMs");
    assert(options.tickSpacingMs > 0 && safetyTickMs > 0, "tick intervals must be positive");
    this.#clock = clock;
    this.#host = host;
    this.#tickSpacingMs = options.tickSpacingMs;
    this.#nextDeadlineMs = () => core.nextDeadlineMs?.();
    this.#onStall = options.onStall;
    host.afterEvent = () => {
      this.#lastEventMs = clock.nowMs();
      this.#arm();
    };
    this.#lastEventMs = clock.nowMs();
    this.#safetyDueMs = clock.nowMs() + safetyTickMs;
    this.#stopSafetyTick = clock.every(safetyTickMs, () => {
      const dueMs = this.#safetyDueMs;
      this.#lastEventMs = clock.nowMs();
      this.#safetyDueMs = clock.nowMs() + safetyTickMs;
      this.#tick(dueMs);
    });
  }

  /** Arms the one-shot for the core's current deadline (at start-up, before any packet). */
  arm(): void {
    this.#arm();
  }

  /** Ticks the core now (e.g. a first heartbeat at start-up) and arms the next deadline. */
  tickNow(): void {
    this.#tick();
  }

  stop(): void {
    this.#isStopped = true;
    this.#stopSafetyTick();
    this.#disarm();
  }

  /** Ticks the host; `dueMs` is when the timer that calls it was due (absent: not a timer). */
  #tick(dueMs?: number): void {
    if (this.#isStopped) return;
    const nowMs = this.#clock.nowMs();
    if (dueMs !== undefined && nowMs - dueMs >= STALL_MS_MIN) this.#onStall?.(nowMs, this.#lastEventMs);
    this.#lastTickMs = nowMs;
    this.#lastEventMs = nowMs;
    this.#host.tick();
    // A paused host is not re-armed (it would only spin); its next packet or safety tick re-arms it.
    if (this.#host.isRunning) this.#arm();
  }

  /** Arms the one-shot at the core's next deadline (spaced from the last tick) if that is earlier. */
  #arm(): void {
    if (this.#isStopped) return;
    const deadlineMs = this.#nextDeadlineMs();
    if (deadlineMs === undefined) return;
    const atMs = Math.max(deadlineMs, this.#lastTickMs + this.#tickSpacingMs);
    if (atMs >= this.#armedMs) return;
    this.#disarm();
    this.#armedMs = atMs;
    this.#cancelArmed = this.#clock.at(atMs, () => {
      this.#cancelArmed = undefined;
      this.#armedMs = Number.POSITIVE_INFINITY;
      this.#tick(atMs);
    });
  }

  #disarm(): void {
    this.#cancelArmed?.();
    this.#cancelArmed = undefined;
    this.#armedMs = Number.POSITIVE_INFINITY;
  }
}
