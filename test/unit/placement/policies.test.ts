/**
 * Goal: every placement policy does what its name says (round-robin takes turns in id order, random
 * is uniform and replays by seed, power-of-two picks the less loaded of two distinct draws,
 * least-latency the fastest with unknown latency tried first), the name registry builds each one
 * and nothing else, and for every policy and any snapshot: the pick has a free slot, is among the
 * healthiest calculators that have one (SPEC 5.7), and is undefined exactly when none has a slot.
 * Method: plain CalculatorView values; seeded Rngs; fast-check over random snapshots and seeds.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { leastLatency } from "../../../src/placement/least-latency.js";
import {
  type CalculatorView,
  FAILING_RATE_MIN,
  healthRank,
  healthyTier,
  type PlacementPolicy,
} from "../../../src/placement/placement.js";
import {
  createPlacementPolicy,
  isPlacementName,
  PLACEMENT_NAMES,
  PLACEMENT_SUMMARIES,
} from "../../../src/placement/policies.js";
import { powerOfTwo } from "../../../src/placement/power-of-two.js";
import { randomPlacement } from "../../../src/placement/random.js";
import { roundRobin } from "../../../src/placement/round-robin.js";
import { type Rng, seededRng } from "../../../src/runtime/rng.js";

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

/** An Rng that returns the given draws in turn (then repeats the last). */
function scripted(...draws: number[]): Rng {
  let i = 0;
  return () => draws[Math.min(i++, draws.length - 1)] as number;
}

describe("healthyTier", () => {
  it("keeps only calculators with a free slot, of the best health rank present", () => {
    const healthy = view("h", { freeSlots: 1 });
    const full = view("f", { freeSlots: 0 });
    const failing = view("x", { failureRate: FAILING_RATE_MIN });
    const suspect = view("s", { isSuspect: true });
    expect(healthyTier([suspect, failing, full, healthy])).toEqual([healthy]);
    expect(healthyTier([suspect, failing, full])).toEqual([failing]);
    expect(healthyTier([suspect, full])).toEqual([suspect]);
    expect(healthyTier([full])).toEqual([]);
  });
});

describe("round-robin", () => {
  it("takes turns in id order, whatever the load, and wraps around", () => {
    const policy = roundRobin();
    const views = [view("c"), view("a", { freeSlots: 1 }), view("b")];
    expect([1, 2, 3, 4].map(() => policy.pick(views))).toEqual(["a", "b", "c", "a"]);
  });

  it("skips a full calculator without losing its place, and picks up a newcomer in order", () => {
    const policy = roundRobin();
    expect(policy.pick([view("a"), view("b"), view("c")])).toBe("a");
    expect(policy.pick([view("a"), view("b", { freeSlots: 0 }), view("c")])).toBe("c");
    expect(policy.pick([view("a"), view("b"), view("c"), view("d")])).toBe("d");
    expect(policy.pick([view("a"), view("b")])).toBe("a");
    expect(policy.pick([])).toBeUndefined();
    expect(policy.pick([view("a"), view("b")])).toBe("b"); // an empty round does not move the cursor
  });

  it("each instance has its own cursor", () => {
    const views = [view("a"), view("b")];
    const first = createPlacementPolicy("round-robin", { rng: seededRng(1) });
    const second = createPlacementPolicy("round-robin", { rng: seededRng(1) });
    expect(first.pick(views)).toBe("a");
    expect(first.pick(views)).toBe("b");
    expect(second.pick(views)).toBe("a");
  });
});

describe("random", () => {
  it("maps the draw onto the healthy calculators with a free slot", () => {
    const views = [view("a"), view("full", { freeSlots: 0 }), view("b"), view("sick", { failureRate: 0.9 })];
    expect(randomPlacement(scripted(0)).pick(views)).toBe("a");
    expect(randomPlacement(scripted(0.49)).pick(views)).toBe("a");
    expect(randomPlacement(scripted(0.5)).pick(views)).toBe("b");
    expect(randomPlacement(scripted(0.999)).pick(views)).toBe("b");
  });

  it("is roughly uniform and replays exactly from the same seed", () => {
    const views = ["a", "b", "c", "d"].map((id) => view(id));
    const run = (seed: number): string[] => {
      const policy = randomPlacement(seededRng(seed));
      return Array.from({ length: 4_000 }, () => policy.pick(views) as string);
    };
    const picks = run(7);
    expect(run(7)).toEqual(picks);
    for (const id of ["a", "b", "c", "d"]) {
      const count = picks.filter((p) => p === id).length;
      expect(count).toBeGreaterThan(850); // expected 1000 each
      expect(count).toBeLessThan(1_150);
    }
  });
});

describe("power-of-two", () => {
  it("draws two distinct calculators and gives the copy to the less loaded", () => {
    const views = [view("a", { freeSlots: 1 }), view("b", { freeSlots: 2 }), view("c", { freeSlots: 1 })];
    // first draw index 0 (a); second draw skips a: 0.0 -> b, 0.99 -> c
    expect(powerOfTwo(scripted(0, 0)).pick(views)).toBe("b");
    expect(powerOfTwo(scripted(0, 0.99)).pick(views)).toBe("a"); // a vs c: equal load, then id
    expect(powerOfTwo(scripted(0.99, 0)).pick(views)).toBe("a"); // c vs a
  });

  it("with one eligible calculator picks it without drawing", () => {
    const rng = (): number => {
      throw new Error("no draw expected");
    };
    expect(powerOfTwo(rng).pick([view("a"), view("b", { freeSlots: 0 })])).toBe("a");
    expect(powerOfTwo(rng).pick([view("b", { freeSlots: 0 })])).toBeUndefined();
  });

  it("never places on the most loaded of three when the others are free (two distinct choices)", () => {
    const views = [view("busy", { capacity: 4, freeSlots: 1 }), view("x", { capacity: 4 }), view("y", { capacity: 4 })];
    const policy = powerOfTwo(seededRng(3));
    for (let i = 0; i < 500; i += 1) expect(policy.pick(views)).not.toBe("busy");
  });
});

describe("least-latency", () => {
  it("picks the lowest latency estimate", () => {
    expect(
      leastLatency.pick([view("a", { latencyMs: 50 }), view("b", { latencyMs: 20 }), view("c", { latencyMs: 90 })]),
    ).toBe("b");
  });

  it("tries a calculator with no latency yet first (explore)", () => {
    expect(leastLatency.pick([view("a", { latencyMs: 5 }), view("new")])).toBe("new");
  });

  it("breaks ties by load per slot, then failure rate, then id", () => {
    expect(leastLatency.pick([view("a", { latencyMs: 10, freeSlots: 1 }), view("b", { latencyMs: 10 })])).toBe("b");
    expect(leastLatency.pick([view("a", { latencyMs: 10, failureRate: 0.2 }), view("b", { latencyMs: 10 })])).toBe("b");
    expect(leastLatency.pick([view("b"), view("a")])).toBe("a");
  });

  it("prefers a slower healthy calculator over a fast failing or suspect one", () => {
    const fastFailing = view("f", { latencyMs: 1, failureRate: 0.5 });
    const fastSuspect = view("s", { latencyMs: 1, isSuspect: true });
    expect(leastLatency.pick([fastFailing, fastSuspect, view("slow", { latencyMs: 900 })])).toBe("slow");
  });
});

describe("the name registry", () => {
  it("builds every listed policy under its own name, with a summary each", () => {
    for (const name of PLACEMENT_NAMES) {
      expect(createPlacementPolicy(name, { rng: seededRng(1) }).name).toBe(name);
      expect(PLACEMENT_SUMMARIES[name].length).toBeGreaterThan(0);
    }
    expect(PLACEMENT_NAMES[0]).toBe("least-loaded");
  });

  it("knows the valid names and nothing else", () => {
    expect(PLACEMENT_NAMES.every(isPlacementName)).toBe(true);
    for (const bad of ["", "fastest", "Least-Loaded", "topsis", "least-loaded "])
      expect(isPlacementName(bad)).toBe(false);
  });
});

const arbitraryView = fc.record({
  id: fc.constantFrom("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"),
  capacity: fc.integer({ min: 1, max: 8 }),
  usedSlots: fc.integer({ min: 0, max: 8 }),
  failureRate: fc.double({ min: 0, max: 1, noNaN: true }),
  latencyMs: fc.option(fc.double({ min: 0, max: 10_000, noNaN: true }), { nil: undefined }),
  isSuspect: fc.boolean(),
  lastAssignedMs: fc.integer({ min: -1, max: 10_000 }),
});

const arbitraryCandidates = fc
  .uniqueArray(arbitraryView, { selector: (v) => v.id, minLength: 0, maxLength: 8 })
  .map((raw) =>
    raw.map(
      ({ usedSlots, ...rest }): CalculatorView => ({ ...rest, freeSlots: Math.max(0, rest.capacity - usedSlots) }),
    ),
  );

describe("every policy, on any snapshot", () => {
  it("picks a calculator with a free slot among the healthiest, or undefined exactly when none has a slot", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PLACEMENT_NAMES),
        fc.integer(),
        fc.array(arbitraryCandidates, { minLength: 1, maxLength: 5 }),
        (name, seed, snapshots) => {
          const policy: PlacementPolicy = createPlacementPolicy(name, { rng: seededRng(seed) });
          for (const candidates of snapshots) {
            const pickedId = policy.pick(candidates);
            const withSlot = candidates.filter((v) => v.freeSlots > 0);
            if (withSlot.length === 0) {
              expect(pickedId).toBeUndefined();
              continue;
            }
            const picked = candidates.find((v) => v.id === pickedId);
            expect(picked).toBeDefined();
            expect(picked?.freeSlots).toBeGreaterThan(0);
            const bestRank = Math.min(...withSlot.map(healthRank));
            expect(healthRank(picked as CalculatorView)).toBe(bestRank);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
