/**
 * Seeded randomness. Cores never call `Math.random`: they take an {@link Rng} so a seed replays a
 * run exactly. The daemons seed from `crypto` at start-up.
 */
import { assert } from "./assert.js";

/** Returns a float in [0, 1). */
export type Rng = () => number;

/** mulberry32: tiny, fast, and good enough for simulation and jitter (not for secrets). */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [min, max] (both inclusive). */
export function randomIntInclusive(rng: Rng, min: number, max: number): number {
  assert(Number.isInteger(min) && Number.isInteger(max), "bounds must be integers");
  assert(min <= max, `empty range ${min}..${max}`);
  return min + Math.floor(rng() * (max - min + 1));
}

/** Uniform float in [min, max]. */
export function randomBetween(rng: Rng, min: number, max: number): number {
  assert(min <= max, `empty range ${min}..${max}`);
  return min + rng() * (max - min);
}

/** A version-4-shaped UUID drawn from `rng` (for simulations; daemons use crypto.randomUUID). */
export function seededUuid(rng: Rng): string {
  const hex = (count: number): string => {
    let out = "";
    for (let i = 0; i < count; i += 1) out += Math.floor(rng() * 16).toString(16);
    return out;
  };
  const variant = (8 + Math.floor(rng() * 4)).toString(16);
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
}
