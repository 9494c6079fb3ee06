/**
 * Goal: the lag-aware failure detector (issue 12 item 6). With 250 ms stalls of the dispatcher's own
 * event loop every 2 s, no live calculator is declared dead, while each of 100 killed calculators is
 * still declared dead within 3 heartbeat intervals at p99. The same scenario without lag awareness
 * (the shell not reporting stalls, as before the fix) does declare live calculators dead, all with a
 * heartbeat queued unread behind a stall, so the scenario is sharp and this test fails without the fix.
 * Method: runStallSim (src/sim/stall-sim.ts): the real DispatcherCore, 64 calculators heartbeating
 * every 1 s with up to 400 ms of send jitter and 25% loss (never two in a row), heartbeatTimeoutMs
 * 2500, Node's timers-before-I/O order after each stall; three seeds (SIM_SEED replays one).
 */
import { describe, expect, it } from "vitest";

import { quantileOf, runStallSim, STALL_SIM_DEFAULTS } from "../../src/sim/stall-sim.js";

const SEEDS = process.env["SIM_SEED"] === undefined ? [1, 2, 3] : [Number(process.env["SIM_SEED"])];

describe("lag-aware failure detector under dispatcher stalls", () => {
  it.each(SEEDS)("seed %i: no false deaths, kills declared dead within 3 intervals at p99", (seed) => {
    const result = runStallSim({ ...STALL_SIM_DEFAULTS, seed });
    expect(result.stallCount).toBeGreaterThanOrEqual(250);
    expect(result.falseDeathCount).toBe(0);
    expect(result.detectionMs).toHaveLength(STALL_SIM_DEFAULTS.killCount);
    expect(quantileOf(result.detectionMs, 0.99)).toBeLessThanOrEqual(3 * STALL_SIM_DEFAULTS.heartbeatIntervalMs);
  });

  it("without lag awareness the same stalls kill live calculators whose heartbeats are queued", () => {
    let falseDeathCount = 0;
    for (const seed of SEEDS) {
      const result = runStallSim({ ...STALL_SIM_DEFAULTS, seed, isLagAware: false });
      expect(result.queuedFalseDeathCount).toBe(result.falseDeathCount);
      falseDeathCount += result.falseDeathCount;
    }
    expect(falseDeathCount).toBeGreaterThan(0);
  });
});
