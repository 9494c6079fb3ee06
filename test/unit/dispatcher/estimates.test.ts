/**
 * Goal: the per-calculator estimates are exact where they can be (rate of known counts, half-life
 * decay, latency EWMA), bounded (entriesMax, forget), and behave as a failure rate must for any
 * history: always in [0, 1], decaying toward 0 while no failure arrives, and higher with a failure
 * than without it.
 * Method: CalculatorEstimates fed plain events at explicit nowMs; fast-check over random histories.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import {
  CalculatorEstimates,
  decayFactor,
  type FailureCause,
  failureRateOf,
  LATENCY_EWMA_WEIGHT,
} from "../../../src/dispatcher/estimates.js";

const HALF_LIFE_MS = 1_000;

function estimates(entriesMax = 8): CalculatorEstimates {
  return new CalculatorEstimates({ halfLifeMs: HALF_LIFE_MS, entriesMax });
}

describe("CalculatorEstimates", () => {
  it("an unknown calculator has rate 0 and no latency", () => {
    expect(estimates().view(0, "x")).toEqual({ failureRate: 0, latencyMs: undefined });
  });

  it("rate = failures / (failures + successes + 2), every cause weighing one", () => {
    const e = estimates();
    const causes: FailureCause[] = ["timeout", "death", "outvoted", "hedge_lost"];
    causes.forEach((cause, i) => {
      e.recordFailure(0, "x", cause);
      expect(e.failureRate(0, "x")).toBeCloseTo((i + 1) / (i + 3), 12);
    });
    e.recordSuccess(0, "x", 10);
    expect(e.failureRate(0, "x")).toBeCloseTo(4 / 7, 12);
  });

  it("counts halve every halfLifeMs, so the rate fades toward 0 with no new event", () => {
    const e = estimates();
    e.recordFailure(0, "x", "timeout");
    expect(e.failureRate(HALF_LIFE_MS, "x")).toBeCloseTo(0.5 / 2.5, 12);
    expect(e.failureRate(2 * HALF_LIFE_MS, "x")).toBeCloseTo(0.25 / 2.25, 12);
    expect(e.failureRate(30 * HALF_LIFE_MS, "x")).toBeLessThan(1e-9);
    // Decay is applied before the next event is added.
    e.recordFailure(HALF_LIFE_MS, "x", "death");
    expect(e.failureRate(HALF_LIFE_MS, "x")).toBeCloseTo(1.5 / 3.5, 12);
    expect(decayFactor(-5, HALF_LIFE_MS)).toBe(1); // a clock step back never grows a count
  });

  it("latency is an EWMA of successful copies' latencies; failures leave it alone", () => {
    const e = estimates();
    e.recordSuccess(0, "x", 100);
    expect(e.view(0, "x").latencyMs).toBe(100);
    e.recordSuccess(10, "x", 200);
    expect(e.view(10, "x").latencyMs).toBeCloseTo(100 + LATENCY_EWMA_WEIGHT * 100, 12);
    e.recordFailure(20, "x", "timeout");
    expect(e.view(20, "x").latencyMs).toBeCloseTo(120, 12);
    e.recordSuccess(30, "x", -5); // clamped at 0
    expect(e.view(30, "x").latencyMs).toBeCloseTo(120 * (1 - LATENCY_EWMA_WEIGHT), 12);
    e.recordSuccess(40, "x"); // a success without a sample (a vote agreed) leaves it alone
    expect(e.view(40, "x").latencyMs).toBeCloseTo(96, 12);
    const rateBefore = e.failureRate(50, "x");
    e.recordLatency(50, "x", 196); // a sample without a success leaves the rate alone
    expect(e.view(50, "x").latencyMs).toBeCloseTo(96 + LATENCY_EWMA_WEIGHT * 100, 12);
    expect(e.failureRate(50, "x")).toBe(rateBefore);
  });

  it("is bounded by entriesMax: a new calculator beyond it is not recorded and counted; forget frees room", () => {
    const e = estimates(2);
    e.recordFailure(0, "a", "timeout");
    e.recordSuccess(0, "b", 5);
    e.recordFailure(0, "c", "timeout");
    expect(e.size).toBe(2);
    expect(e.droppedCount).toBe(1);
    expect(e.failureRate(0, "c")).toBe(0);
    e.forget("a");
    expect(e.failureRate(0, "a")).toBe(0);
    e.recordFailure(0, "c", "timeout");
    expect(e.failureRate(0, "c")).toBeCloseTo(1 / 3, 12);
  });

  it("refuses a non-positive half-life (a programmer error)", () => {
    expect(() => new CalculatorEstimates({ halfLifeMs: 0, entriesMax: 1 })).toThrow();
    expect(() => failureRateOf(-1, 0)).toThrow();
  });
});

type Event = { readonly gapMs: number; readonly isFailure: boolean; readonly latencyMs: number };

const event = fc.record({
  gapMs: fc.integer({ min: 0, max: 5 * HALF_LIFE_MS }),
  isFailure: fc.boolean(),
  latencyMs: fc.integer({ min: 0, max: 100_000 }),
});

/** Replays `events` from time 0 and returns the estimates and the time of the last event. */
function replay(events: readonly Event[]): { e: CalculatorEstimates; nowMs: number } {
  const e = estimates();
  let nowMs = 0;
  for (const { gapMs, isFailure, latencyMs } of events) {
    nowMs += gapMs;
    if (isFailure) e.recordFailure(nowMs, "x", "timeout");
    else e.recordSuccess(nowMs, "x", latencyMs);
  }
  return { e, nowMs };
}

describe("CalculatorEstimates properties", () => {
  it("the rate stays in [0, 1] and the latency within the samples' range, for any history", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const { e, nowMs } = replay(events);
        const { failureRate, latencyMs } = e.view(nowMs, "x");
        expect(failureRate).toBeGreaterThanOrEqual(0);
        expect(failureRate).toBeLessThanOrEqual(1);
        const samples = events.filter((ev) => !ev.isFailure).map((ev) => ev.latencyMs);
        if (samples.length === 0) expect(latencyMs).toBeUndefined();
        else {
          expect(latencyMs).toBeGreaterThanOrEqual(Math.min(...samples) - 1e-6);
          expect(latencyMs).toBeLessThanOrEqual(Math.max(...samples) + 1e-6);
        }
      }),
    );
  });

  it("without failures the rate never rises and decays toward 0", () => {
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 30 }),
        fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: HALF_LIFE_MS }), isSuccess: fc.boolean() }), {
          maxLength: 30,
        }),
        (history, quiet) => {
          const { e, nowMs: startMs } = replay(history);
          let nowMs = startMs;
          let previous = e.failureRate(nowMs, "x");
          for (const { gapMs, isSuccess } of quiet) {
            nowMs += gapMs;
            if (isSuccess) e.recordSuccess(nowMs, "x", 1);
            const rate = e.failureRate(nowMs, "x");
            expect(rate).toBeLessThanOrEqual(previous + 1e-12);
            previous = rate;
          }
          expect(e.failureRate(nowMs + 40 * HALF_LIFE_MS, "x")).toBeLessThan(1e-6);
        },
      ),
    );
  });

  it("a failure raises the rate above what it would be without it", () => {
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 40 }),
        fc.integer({ min: 0, max: 3 * HALF_LIFE_MS }),
        (history, gapMs) => {
          const without = replay(history);
          const withFailure = replay(history);
          const nowMs = without.nowMs + gapMs;
          const before = without.e.failureRate(nowMs, "x");
          withFailure.e.recordFailure(nowMs, "x", "outvoted");
          expect(withFailure.e.failureRate(nowMs, "x")).toBeGreaterThan(before);
        },
      ),
    );
  });
});
