/**
 * Goal: the replay window accepts every counter exactly once, tolerates reordering within its size,
 * refuses anything older, and the guard keeps senders apart, accepts a restarted sender (new id) at
 * once, refuses stale timestamps, stays within its sender bound, and forgets only safely.
 * Method: plain values; a fast-check property compares the window with a Set-based model.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { CLOCK_SKEW_MS_MAX, REPLAY_MEMORY_MS, ReplayGuard } from "../../../src/security/replay-guard.js";
import { REPLAY_WINDOW_SIZE, ReplayWindow } from "../../../src/security/replay-window.js";

describe("ReplayWindow", () => {
  it("accepts each counter once, in or out of order within the window", () => {
    const window = new ReplayWindow();
    expect(window.accept(5)).toBe("fresh");
    expect(window.accept(3)).toBe("fresh");
    expect(window.accept(5)).toBe("duplicate");
    expect(window.accept(3)).toBe("duplicate");
    expect(window.accept(4)).toBe("fresh");
    expect(window.accept(5 + REPLAY_WINDOW_SIZE)).toBe("fresh");
    expect(window.accept(5)).toBe("too_old");
    expect(window.accept(6)).toBe("fresh");
    expect(window.accept(6)).toBe("duplicate");
  });

  it("has at least the 64 slots SPEC section 10 asks for", () => {
    expect(REPLAY_WINDOW_SIZE).toBeGreaterThanOrEqual(64);
  });

  it("agrees with a model that remembers every counter (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 * REPLAY_WINDOW_SIZE }), { maxLength: 400 }), (counters) => {
        const window = new ReplayWindow();
        const seen = new Set<number>();
        let top = -1;
        for (const counter of counters) {
          const expected = seen.has(counter) ? "duplicate" : top - counter >= REPLAY_WINDOW_SIZE ? "too_old" : "fresh";
          const actual = window.accept(counter);
          // A counter seen long ago is reported too_old rather than duplicate: both refuse it.
          if (expected === "duplicate" && actual === "too_old") continue;
          expect(actual).toBe(expected);
          if (actual === "fresh") {
            seen.add(counter);
            top = Math.max(top, counter);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("ReplayGuard", () => {
  const now = 1_700_000_000_000;

  it("keeps senders apart and accepts a restarted sender's counters anew", () => {
    const guard = new ReplayGuard(8);
    expect(guard.accept("a", 1, now, now)).toBe("accepted");
    expect(guard.accept("a", 1, now, now)).toBe("duplicate");
    expect(guard.accept("b", 1, now, now)).toBe("accepted");
    // The same process restarted draws a new sender id: its counter 1 is accepted at once.
    expect(guard.accept("a2", 1, now, now)).toBe("accepted");
    expect(guard.accept("a", 1, now, now)).toBe("duplicate");
  });

  it("refuses timestamps beyond the skew bound, so a forgotten window cannot reopen replays", () => {
    const guard = new ReplayGuard(8);
    expect(guard.accept("a", 1, now - CLOCK_SKEW_MS_MAX - 1, now)).toBe("stale_time");
    expect(guard.accept("a", 1, now + CLOCK_SKEW_MS_MAX + 1, now)).toBe("stale_time");
    expect(guard.size).toBe(0);
    expect(guard.accept("a", 1, now, now)).toBe("accepted");
    // After REPLAY_MEMORY_MS the window may be forgotten, but the old datagram is stale by then.
    const later = now + REPLAY_MEMORY_MS;
    expect(guard.accept("z", 1, later, later)).toBe("accepted");
    expect(guard.accept("a", 1, now, later)).toBe("stale_time");
  });

  it("is bounded: a full table of live senders refuses a new one, then makes room once they go quiet", () => {
    const guard = new ReplayGuard(2);
    expect(guard.accept("a", 1, now, now)).toBe("accepted");
    expect(guard.accept("b", 1, now, now)).toBe("accepted");
    expect(guard.accept("c", 1, now, now)).toBe("senders_full");
    expect(guard.size).toBe(2);
    const later = now + REPLAY_MEMORY_MS;
    expect(guard.accept("c", 1, later, later)).toBe("accepted");
    expect(guard.size).toBeLessThanOrEqual(2);
  });
});
