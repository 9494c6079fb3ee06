/**
 * The placement policies by config name (dispatcher `placement`, SPEC 9). PLACEMENT_NAMES is the one
 * list of valid names: the config schema accepts only these (an unknown name exits 2 listing them)
 * and createPlacementPolicy builds a fresh instance of one. Add a policy here and in its own file.
 */
import type { Rng } from "../runtime/rng.js";
import { leastLatency } from "./least-latency.js";
import { leastLoaded } from "./least-loaded.js";
import type { PlacementPolicy } from "./placement.js";
import { powerOfTwo } from "./power-of-two.js";
import { randomPlacement } from "./random.js";
import { roundRobin } from "./round-robin.js";

/** Valid values of the `placement` config key, the default first. */
export const PLACEMENT_NAMES = ["least-loaded", "round-robin", "random", "power-of-two", "least-latency"] as const;

/** A valid `placement` name. */
export type PlacementName = (typeof PLACEMENT_NAMES)[number];

/** What a policy may need from the shell. */
export interface PlacementDeps {
  /** Randomness for `random` and `power-of-two`; the shell seeds it (never Math.random). */
  readonly rng: Rng;
}

/** One line per policy, for docs and error messages. */
export const PLACEMENT_SUMMARIES: Readonly<Record<PlacementName, string>> = {
  "least-loaded": "lowest load per slot, then lowest failure rate (default)",
  "round-robin": "calculators take turns in id order",
  random: "a uniform random choice",
  "power-of-two": "two random choices, the less loaded wins",
  "least-latency": "lowest latency estimate; a calculator without one is tried first",
};

/** True when `name` is a valid `placement` value. */
export function isPlacementName(name: string): name is PlacementName {
  return (PLACEMENT_NAMES as readonly string[]).includes(name);
}

/** A fresh policy instance for `name` (round-robin's cursor is per instance). */
export function createPlacementPolicy(name: PlacementName, deps: PlacementDeps): PlacementPolicy {
  switch (name) {
    case "least-loaded":
      return leastLoaded;
    case "round-robin":
      return roundRobin();
    case "random":
      return randomPlacement(deps.rng);
    case "power-of-two":
      return powerOfTwo(deps.rng);
    case "least-latency":
      return leastLatency;
  }
}
