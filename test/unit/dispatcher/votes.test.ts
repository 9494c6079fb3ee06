/**
 * Goal: the vote rules hold for every order of results, not just the ones the core tests pick: one
 * vote per calculator; a wrong result is never leading with quorum while fewer than q voters are
 * corrupt (even corrupt voters that agree with each other); planCopies never asks for more than
 * maxCopies in all, and says no_quorum only when agreement is impossible.
 * Method: example tests plus fast-check properties over random vote sequences and tallies.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { planCopies, VoteBox } from "../../../src/dispatcher/votes.js";

describe("VoteBox", () => {
  it("counts one vote per calculator and tracks the leading result", () => {
    const box = new VoteBox();
    expect(box.record("a", "x")).toEqual({ kind: "counted", agreeingCount: 1 });
    expect(box.record("a", "x")).toEqual({ kind: "duplicate" });
    expect(box.record("a", "y")).toEqual({ kind: "duplicate" });
    expect(box.record("b", "y")).toEqual({ kind: "counted", agreeingCount: 1 });
    expect(box.leading).toEqual({ result: "x", count: 1 });
    expect(box.record("c", "y")).toEqual({ kind: "counted", agreeingCount: 2 });
    expect(box.leading).toEqual({ result: "y", count: 2 });
    expect(box.votedCount).toBe(3);
  });

  it("property: with fewer than q corrupt voters, no wrong result ever reaches q votes", () => {
    const arbitrary = fc
      .record({ quorum: fc.integer({ min: 2, max: 5 }), voterCount: fc.integer({ min: 1, max: 12 }) })
      .chain(({ quorum, voterCount }) =>
        fc.record({
          quorum: fc.constant(quorum),
          corrupt: fc.subarray(
            Array.from({ length: voterCount }, (_, i) => `calc-${i}`),
            { maxLength: Math.min(quorum - 1, voterCount) },
          ),
          voters: fc.array(fc.integer({ min: 0, max: voterCount - 1 }), { minLength: 1, maxLength: 40 }),
          wrongValues: fc.array(fc.constantFrom("w1", "w2"), { minLength: 40, maxLength: 40 }),
        }),
      );
    fc.assert(
      fc.property(arbitrary, ({ quorum, corrupt, voters, wrongValues }) => {
        const box = new VoteBox();
        voters.forEach((index, step) => {
          const id = `calc-${index}`;
          const outcome = box.record(id, corrupt.includes(id) ? (wrongValues[step] as string) : "right");
          if (outcome.kind === "counted" && outcome.agreeingCount >= quorum) {
            expect(box.leading?.result).toBe("right");
          }
        });
      }),
    );
  });
});

describe("planCopies", () => {
  const base = {
    factor: 3,
    quorum: 2,
    votedCount: 0,
    leadingCount: 0,
    liveCount: 0,
    outstandingCount: 0,
    startedCount: 0,
    copiesMax: 6,
    eligibleCount: Number.POSITIVE_INFINITY,
  };

  it("asks for k copies at first, replaces lost ones, and an extra one after a disagreement", () => {
    expect(planCopies(base)).toEqual({ kind: "copies", count: 3 });
    expect(planCopies({ ...base, liveCount: 2, outstandingCount: 2, startedCount: 3 })).toEqual({
      kind: "copies",
      count: 1,
    });
    const split = { ...base, votedCount: 3, leadingCount: 1, startedCount: 3 };
    expect(planCopies(split)).toEqual({ kind: "copies", count: 1 });
    expect(planCopies({ ...split, leadingCount: 2 })).toEqual({ kind: "final" });
  });

  it("says no_quorum when copies or calculators run out, never while a copy out could still agree", () => {
    const split = { ...base, votedCount: 3, leadingCount: 1, startedCount: 3 };
    expect(planCopies({ ...split, copiesMax: 3 })).toEqual({ kind: "no_quorum" });
    expect(planCopies({ ...split, eligibleCount: 0 })).toEqual({ kind: "no_quorum" });
    expect(planCopies({ ...split, eligibleCount: 0, outstandingCount: 1 })).toEqual({ kind: "copies", count: 1 });
  });

  it("property: never starts copies beyond copiesMax, and no_quorum means q is out of reach", () => {
    const input = fc
      .record({
        factor: fc.integer({ min: 1, max: 6 }),
        quorumOffset: fc.integer({ min: 0, max: 5 }),
        votedCount: fc.integer({ min: 0, max: 8 }),
        leadingShare: fc.double({ min: 0, max: 1, noNaN: true }),
        liveCount: fc.integer({ min: 0, max: 6 }),
        lostAlive: fc.integer({ min: 0, max: 3 }),
        copiesMax: fc.integer({ min: 1, max: 12 }),
        eligibleCount: fc.integer({ min: 0, max: 10 }),
      })
      .map((r) => {
        const quorum = Math.max(1, r.factor - r.quorumOffset);
        const leadingCount = Math.min(quorum - 1, Math.round(r.leadingShare * r.votedCount));
        const startedCount = r.votedCount + r.liveCount + r.lostAlive;
        return {
          factor: r.factor,
          quorum,
          votedCount: r.votedCount,
          leadingCount,
          liveCount: r.liveCount,
          outstandingCount: r.liveCount + r.lostAlive,
          startedCount,
          copiesMax: Math.max(r.copiesMax, r.factor),
          eligibleCount: r.eligibleCount,
        };
      });
    fc.assert(
      fc.property(input, (i) => {
        const plan = planCopies(i);
        if (plan.kind === "copies")
          expect(i.startedCount + plan.count).toBeLessThanOrEqual(Math.max(i.copiesMax, i.startedCount));
        const reachMax =
          i.leadingCount + i.outstandingCount + Math.min(Math.max(0, i.copiesMax - i.startedCount), i.eligibleCount);
        expect(plan.kind === "no_quorum").toBe(reachMax < i.quorum);
      }),
    );
  });
});
