/**
 * Goal: the dispatcher's `placement` key accepts exactly the registered policy names, an unknown
 * name is a ConfigError that lists every valid one, and the chosen name reaches the core as that
 * policy (with a seeded Rng for the drawing ones: the same seed picks the same calculators).
 * Method: parseConfig on plain objects and dispatcherCoreConfig on the result; the CLI-level exit 2
 * is in test/e2e/bad-input.e2e.test.ts.
 */
import { describe, expect, it } from "vitest";

import { dispatcherCoreConfig } from "../../../src/cli/dispatcher.js";
import { ConfigError, parseConfig } from "../../../src/config/load.js";
import { DispatcherFileConfig } from "../../../src/config/schema.js";
import type { CalculatorView } from "../../../src/placement/placement.js";
import { PLACEMENT_NAMES } from "../../../src/placement/policies.js";

describe("dispatcher placement", () => {
  it("accepts every registered name and hands the core that policy", () => {
    for (const name of PLACEMENT_NAMES) {
      const file = parseConfig(DispatcherFileConfig, { placement: name }, "test.json");
      expect(dispatcherCoreConfig(file, 1).placement.name).toBe(name);
    }
  });

  it("defaults to least-loaded", () => {
    expect(dispatcherCoreConfig(parseConfig(DispatcherFileConfig, {}, "test.json"), 1).placement.name).toBe(
      "least-loaded",
    );
  });

  it("an unknown name is a ConfigError naming the file, the key, the value and every valid name", () => {
    let error: unknown;
    try {
      parseConfig(DispatcherFileConfig, { placement: "fastest" }, "disp.json");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain("disp.json");
    expect(message).toContain("placement");
    expect(message).toContain('"fastest"');
    for (const name of PLACEMENT_NAMES) expect(message).toContain(name);
  });

  it("the placement seed makes random placement replay", () => {
    const file = parseConfig(DispatcherFileConfig, { placement: "random" }, "test.json");
    const views: CalculatorView[] = ["a", "b", "c", "d"].map((id) => ({
      id,
      capacity: 1,
      freeSlots: 1,
      failureRate: 0,
      latencyMs: undefined,
      isSuspect: false,
      lastAssignedMs: 0,
    }));
    const picks = (seed: number): unknown[] => {
      const policy = dispatcherCoreConfig(file, seed).placement;
      return Array.from({ length: 20 }, () => policy.pick(views));
    };
    expect(picks(42)).toEqual(picks(42));
    expect(new Set(picks(42)).size).toBeGreaterThan(1);
  });
});
