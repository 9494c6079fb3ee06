/**
 * Goal: least-loaded placement keeps guarantee 7 (SPEC 5): a busy (no free slot), suspect or failing
 * calculator is never chosen while a healthy idle one exists; among equals the lower load per slot
 * wins, then the lower failure estimate, then the one assigned longest ago (spreading ties).
 * Method: plain CalculatorView values, exact picks; plus a fast-check property over random candidate
 * sets (fixed seed, so a failure replays).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { compareLeastLoaded, leastLoaded } from "../../../src/placement/least-loaded.js";
import { type CalculatorView, FAILING_RATE_MIN } from "../../../src/placement/placement.js";

function view(id: string, overrides: Partial<CalculatorView> = {}): CalculatorView {
  return {
    id,
    capacity: 2,
    freeSlots: 2,
    failureRate: 0,
    latencyMs: undefined,
    isSuspect: false,
    lastAssignedMs: 0,
    ...overrides,
  };
}

const isHealthyIdle = (v: CalculatorView): boolean =>
  !v.isSuspect && v.failureRate < FAILING_RATE_MIN && v.freeSlots > 0 && v.freeSlots === v.capacity;

describe("leastLoaded.pick", () => {
  it("picks nothing from no candidates or only full ones", () => {
    expect(leastLoaded.pick([])).toBeUndefined();
    expect(leastLoaded.pick([view("a", { freeSlots: 0 }), view("b", { freeSlots: 0 })])).toBeUndefined();
  });

  it("never picks a calculator without a free slot, even the healthiest", () => {
    const busy = view("a", { freeSlots: 0, lastAssignedMs: -1_000 });
    const failing = view("b", { failureRate: 0.9 });
    expect(leastLoaded.pick([busy, failing])).toBe("b");
  });

  it("prefers a healthy idle calculator over a suspect or a failing one", () => {
    const suspect = view("a", { isSuspect: true, lastAssignedMs: -1_000 });
    const failing = view("b", { failureRate: FAILING_RATE_MIN, lastAssignedMs: -1_000 });
    const healthy = view("c", { lastAssignedMs: 5_000 });
    expect(leastLoaded.pick([suspect, failing, healthy])).toBe("c");
    expect(leastLoaded.pick([healthy, failing, suspect])).toBe("c");
  });

  it("prefers a healthy loaded calculator over a failing idle one, and failing over suspect", () => {
    const loaded = view("a", { capacity: 4, freeSlots: 1 });
    const failing = view("b", { failureRate: 0.6 });
    const suspect = view("c", { isSuspect: true });
    expect(leastLoaded.pick([failing, suspect, loaded])).toBe("a");
    expect(leastLoaded.pick([suspect, failing])).toBe("b");
  });

  it("a failure estimate just below FAILING_RATE_MIN is still healthy", () => {
    const nearlyFailing = view("a", { failureRate: FAILING_RATE_MIN - 0.01 });
    const loaded = view("b", { capacity: 4, freeSlots: 1 });
    expect(leastLoaded.pick([loaded, nearlyFailing])).toBe("a");
  });

  it("the lower load per slot wins, not the larger number of free slots", () => {
    const big = view("a", { capacity: 8, freeSlots: 4 }); // half loaded
    const small = view("b", { capacity: 2, freeSlots: 2 }); // idle
    const quarter = view("c", { capacity: 4, freeSlots: 3 }); // quarter loaded
    expect(leastLoaded.pick([big, small, quarter])).toBe("b");
    expect(leastLoaded.pick([big, quarter])).toBe("c");
  });

  it("at equal load the lower failure estimate wins", () => {
    expect(leastLoaded.pick([view("a", { failureRate: 0.3 }), view("b", { failureRate: 0.1 })])).toBe("b");
  });

  it("ties are spread: the one assigned longest ago wins, then the smaller id", () => {
    expect(leastLoaded.pick([view("a", { lastAssignedMs: 900 }), view("b", { lastAssignedMs: 100 })])).toBe("b");
    expect(leastLoaded.pick([view("b", { lastAssignedMs: -Infinity }), view("a", { lastAssignedMs: 1 })])).toBe("b");
    expect(leastLoaded.pick([view("b"), view("a")])).toBe("a");
    expect(compareLeastLoaded(view("a"), view("a"))).toBe(0);
  });
});

const arbitraryView = fc.record({
  id: fc.constantFrom("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"),
  capacity: fc.integer({ min: 1, max: 8 }),
  usedSlots: fc.integer({ min: 0, max: 8 }),
  failureRate: fc.double({ min: 0, max: 1, noNaN: true }),
  latencyMs: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }),
  isSuspect: fc.boolean(),
  lastAssignedMs: fc.integer({ min: -1, max: 10_000 }),
});

const arbitraryCandidates = fc
  .uniqueArray(arbitraryView, { selector: (v) => v.id, minLength: 0, maxLength: 8 })
  .map((raw) =>
    raw.map(
      ({ usedSlots, ...rest }): CalculatorView => ({
        ...rest,
        freeSlots: Math.max(0, rest.capacity - usedSlots),
      }),
    ),
  );

describe("leastLoaded property", () => {
  it("whenever a healthy candidate with load 0 exists, the pick is healthy with load 0", () => {
    fc.assert(
      fc.property(arbitraryCandidates, (candidates) => {
        const picked = candidates.find((v) => v.id === leastLoaded.pick(candidates));
        if (candidates.some(isHealthyIdle)) {
          expect(picked).toBeDefined();
          expect(isHealthyIdle(picked as CalculatorView)).toBe(true);
        }
      }),
      { seed: 20_240_607, numRuns: 2_000 },
    );
  });

  it("the pick always has a free slot, and there is a pick whenever any candidate has one", () => {
    fc.assert(
      fc.property(arbitraryCandidates, (candidates) => {
        const pickedId = leastLoaded.pick(candidates);
        const picked = candidates.find((v) => v.id === pickedId);
        expect(pickedId === undefined).toBe(candidates.every((v) => v.freeSlots === 0));
        if (picked !== undefined) expect(picked.freeSlots).toBeGreaterThan(0);
      }),
      { seed: 7, numRuns: 2_000 },
    );
  });
});
