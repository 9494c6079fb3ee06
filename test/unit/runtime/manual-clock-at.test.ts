/**
 * Goal: ManualClock's one-shots (Clock.at) fire once, in time order with its tickers, never early,
 * never re-entrantly, and can be cancelled; the shells' deadline ticking relies on exactly this.
 * Method: plain ManualClock, recording what fires when; no real time.
 */
import { describe, expect, it } from "vitest";

import { ManualClock } from "../../../src/runtime/clock.js";

describe("ManualClock.at", () => {
  it("fires a one-shot once, at its time, interleaved in time order with tickers", () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.every(10, () => fired.push(`tick@${clock.nowMs()}`));
    clock.at(15, () => fired.push(`once@${clock.nowMs()}`));
    clock.advance(30);
    expect(fired).toEqual(["tick@10", "once@15", "tick@20", "tick@30"]);
    expect(clock.scheduledCount).toBe(1); // only the ticker is left
  });

  it("breaks ties by creation order and fires one-shots armed by a callback in the same advance", () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.at(10, () => {
      fired.push(`a@${clock.nowMs()}`);
      clock.at(12, () => fired.push(`c@${clock.nowMs()}`));
    });
    clock.at(10, () => fired.push(`b@${clock.nowMs()}`));
    clock.advance(20);
    expect(fired).toEqual(["a@10", "b@10", "c@12"]);
  });

  it("fires a past deadline at the current time, not re-entrantly, and never moves time back", () => {
    const clock = new ManualClock(100);
    const fired: number[] = [];
    clock.at(40, () => fired.push(clock.nowMs()));
    expect(fired).toEqual([]);
    clock.advance(0);
    expect(fired).toEqual([100]);
    clock.at(Number.NEGATIVE_INFINITY, () => fired.push(clock.nowMs()));
    clock.advance(5);
    expect(fired).toEqual([100, 100]);
    expect(clock.nowMs()).toBe(105);
  });

  it("does not fire a cancelled one-shot, and cancelling twice is harmless", () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const cancel = clock.at(5, () => fired.push(clock.nowMs()));
    cancel();
    cancel();
    clock.advance(10);
    expect(fired).toEqual([]);
    expect(clock.scheduledCount).toBe(0);
  });
});
