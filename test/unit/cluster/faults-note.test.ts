/**
 * Goal: `run-cluster` tells a newcomer that the calculators' outages and wrong results are emulated on
 * purpose (the statistics then read as survived faults), and says nothing when none are switched on.
 */
import { describe, expect, it } from "vitest";

import { emulatedFaultsNote } from "../../../src/cluster/local-cluster.js";

describe("emulatedFaultsNote", () => {
  it("names the outage probability and its flag", () => {
    const note = emulatedFaultsNote({ failureProbability: 0.15, corruptionProbability: 0 });
    expect(note).toMatch(/^faults on purpose: .*outage of 1-3 s with probability 0\.15 .*--failure-probability/);
    expect(note).not.toMatch(/wrong result/);
  });

  it("names wrong results too when corruption is on", () => {
    const note = emulatedFaultsNote({ failureProbability: 0.1, corruptionProbability: 0.2 });
    expect(note).toMatch(/outage .* and a wrong result with probability 0\.2 \(--corruption-probability\)/);
  });

  it("is silent when no fault is emulated", () => {
    expect(emulatedFaultsNote({ failureProbability: 0, corruptionProbability: 0 })).toBeUndefined();
  });
});
