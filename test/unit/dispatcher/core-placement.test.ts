/**
 * Goal: the placement policy chosen by config is the one the dispatcher core places with, fed by the
 * core's own estimates: round-robin takes turns through the core, least-latency learns from real
 * results which calculator is fast and sends it the next copies, and with any policy a calculator
 * that keeps failing gets no copy while a healthy one has a free slot.
 * Method: DispatcherCore with each policy, three calculators of capacity 4, plain packets and nowMs.
 */
import { describe, expect, it } from "vitest";

import { createPlacementPolicy, PLACEMENT_NAMES } from "../../../src/placement/policies.js";
import { seededRng } from "../../../src/runtime/rng.js";
import { CALC, type CalcName, Harness } from "./fixtures.js";

const NAMES: readonly CalcName[] = ["a", "b", "c"];

function holderName(h: Harness, n: number, nowMs = 0): CalcName {
  const outputs = h.submit(nowMs, n);
  const to = outputs.flatMap((o) => (o.kind === "send" && o.packet.type === "task.assign" ? [o.to] : []))[0];
  const name = NAMES.find((candidate) => CALC[candidate] === to);
  if (name === undefined) throw new Error(`task ${n} was not placed`);
  return name;
}

function harness(policy: (typeof PLACEMENT_NAMES)[number]): Harness {
  const h = new Harness({
    placement: createPlacementPolicy(policy, { rng: seededRng(5) }),
    heartbeatTimeoutMs: 100_000,
    evictAfterMs: 200_000,
  });
  for (const name of NAMES) h.beat(0, name, { capacity: 4 });
  return h;
}

describe("DispatcherCore with each placement policy", () => {
  it("round-robin takes turns in id order", () => {
    const h = harness("round-robin");
    expect([1, 2, 3, 4, 5].map((n) => holderName(h, n))).toEqual(["a", "b", "c", "a", "b"]);
  });

  it("least-latency tries each calculator once, then sends copies to the fastest", () => {
    const h = harness("least-latency");
    const first = [1, 2, 3].map((n) => holderName(h, n)); // no latency known: explore each
    expect([...first].sort()).toEqual(["a", "b", "c"]);
    const latencyMs: Record<CalcName, number> = { a: 300, b: 40, c: 900 };
    for (const [i, name] of first.entries()) h.done(latencyMs[name], name, i + 1, 1);
    expect([4, 5, 6].map((n) => holderName(h, n, 1_000))).toEqual(["b", "b", "b"]);
    expect(h.core.status(1_000).calculators.map((c) => [c.id, c.latencyMs])).toEqual([
      ["calc-a", 300],
      ["calc-b", 40],
      ["calc-c", 900],
    ]);
  });

  it.each(PLACEMENT_NAMES)(
    "%s never places on a calculator that keeps failing while a healthy one is free",
    (policy) => {
      const h = harness(policy);
      // Two failures in a row (the core's own paths for them are tested in core-estimates.test.ts).
      h.core.registry.recordFailure(10, "calc-c", "timeout");
      h.core.registry.recordFailure(10, "calc-c", "death");
      expect(h.core.status(10).calculators.find((c) => c.id === "calc-c")?.state).toBe("parked");
      const holders = Array.from({ length: 8 }, (_, i) => holderName(h, i + 1, 20));
      expect(holders).not.toContain("c");
      expect(holderName(h, 9, 20)).toBe("c"); // a and b full: c as a last resort
    },
  );
});
