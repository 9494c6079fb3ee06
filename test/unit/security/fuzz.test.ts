/**
 * Goal: fuzzing (issue 12 item 5): every decoder, the security edge and every core (dispatcher,
 * calculator, client, the calculator shell with its overlay agent) survive random, mutated,
 * truncated, oversized, forged and replayed datagrams: nothing throws, no forged or replayed datagram
 * is accepted, and every datagram is taken or counted as a drop.
 * Method: the fast-check properties of src/security/fuzz-targets.ts, 10 000 cases in all, split by
 * each target's share; FUZZ_SEED replays a run (`npm run fuzz -- --runs N` runs more).
 */
import { describe, it } from "vitest";

import { checkTarget, FUZZ_TARGETS } from "../../../src/security/fuzz-targets.js";

const CASES_TOTAL = 10_000;
const SEED = process.env["FUZZ_SEED"] === undefined ? undefined : Number(process.env["FUZZ_SEED"]);

describe("fuzz", () => {
  for (const target of FUZZ_TARGETS) {
    const numRuns = Math.round(CASES_TOTAL * target.share);
    it(`${target.name}: ${numRuns} cases`, () => checkTarget(target, numRuns, SEED), 60_000);
  }
});
