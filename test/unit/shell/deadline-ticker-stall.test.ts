/**
 * Goal: DeadlineTicker reports an event-loop stall (issue 12 item 6): when its armed timer or its safety
 * tick fires STALL_MS_MIN or more late, onStall hears (nowMs, sinceMs) before the tick, where sinceMs is
 * the last packet, apply or tick the loop handled; timers on time report nothing.
 * Method: a stub core on a real CoreHost, and a hand-driven Clock whose timers the test fires late,
 * as a blocked event loop does.
 */
import { describe, expect, it } from "vitest";

import type { Clock } from "../../../src/runtime/clock.js";
import { CoreHost, type HostedCore } from "../../../src/shell/core-host.js";
import { DeadlineTicker, STALL_MS_MIN } from "../../../src/shell/deadline-ticker.js";
import type { Transport } from "../../../src/transport/transport.js";

/** A clock whose due timers run only when the test calls run(atMs): a loop that may be blocked. */
class LateClock implements Clock {
  now = 0;
  readonly #timers: { dueMs: number; intervalMs: number; onDue: () => void }[] = [];
  nowMs(): number {
    return this.now;
  }
  every(intervalMs: number, onTick: () => void): () => void {
    const timer = { dueMs: this.now + intervalMs, intervalMs, onDue: onTick };
    this.#timers.push(timer);
    return () => this.#timers.splice(this.#timers.indexOf(timer), 1);
  }
  at(deadlineMs: number, onDue: () => void): () => void {
    const timer = { dueMs: deadlineMs, intervalMs: 0, onDue };
    this.#timers.push(timer);
    return () => {
      const index = this.#timers.indexOf(timer);
      if (index >= 0) this.#timers.splice(index, 1);
    };
  }
  /** The loop runs at atMs: every timer due by then fires once, earliest first (late if atMs is later). */
  run(atMs: number): void {
    this.now = atMs;
    const due = this.#timers.filter((t) => t.dueMs <= atMs).sort((a, b) => a.dueMs - b.dueMs);
    for (const timer of due) {
      if (timer.intervalMs === 0) this.#timers.splice(this.#timers.indexOf(timer), 1);
      else timer.dueMs = atMs + timer.intervalMs; // Node re-arms an interval from when it ran
      timer.onDue();
    }
  }
}

function setUp(deadlineMs: number) {
  const clock = new LateClock();
  const ticks: number[] = [];
  const stalls: [number, number][] = [];
  const transport: Transport = {
    local: { host: "127.0.0.1", port: 1 },
    send: () => undefined,
    onReceive: () => undefined,
    close: () => Promise.resolve(),
  };
  let next: number | undefined = deadlineMs;
  const core: HostedCore<{ kind: "noted" }> = {
    onPacket: () => [],
    onTick: (nowMs) => {
      ticks.push(nowMs);
      next = undefined;
      return [];
    },
    nextDeadlineMs: () => next,
  };
  const host = new CoreHost(
    transport,
    core,
    () => clock.nowMs(),
    () => undefined,
  );
  const ticker = new DeadlineTicker(clock, host, {
    tickSpacingMs: 1,
    safetyTickMs: 250,
    onStall: (nowMs, sinceMs) => stalls.push([nowMs, sinceMs]),
  });
  ticker.arm();
  return { clock, host, ticks, stalls, ticker };
}

describe("DeadlineTicker stall reports", () => {
  it("a timer on time (or late by less than STALL_MS_MIN) reports no stall", () => {
    const s = setUp(100);
    s.clock.run(100 + STALL_MS_MIN - 1);
    expect(s.ticks).toEqual([100 + STALL_MS_MIN - 1]);
    expect(s.stalls).toEqual([]);
    s.ticker.stop();
  });

  it("a late armed timer reports a stall since the last event, before the tick", () => {
    const s = setUp(100);
    s.clock.now = 60;
    s.host.apply([]); // the last thing the loop did before it blocked
    s.clock.run(350); // blocked from about 60 to 350: the timer due at 100 and the safety tick fire late
    expect(s.stalls).toEqual([
      [350, 60],
      [350, 350], // the safety tick, also late, runs right after the first tick
    ]);
    expect(s.ticks).toEqual([350, 350]);
    s.ticker.stop();
  });

  it("a late timer after a quiet time reports since the last event, however long ago", () => {
    const s = setUp(100);
    s.clock.run(130);
    expect(s.stalls).toEqual([[130, 0]]);
    s.ticker.stop();
  });
});
