/**
 * The fault plan of one overlay-daemons seed (test/sim/overlay-faults.sim.test.ts): drawn from the
 * seed alone, so a failing seed replays exactly.
 */
import { randomIntInclusive, seededRng } from "../../src/runtime/rng.js";
import { type OverlaySimOptions, TREE_7 } from "./overlay-daemons-harness.js";

/** Tasks the client sends per seed. */
export const FAULT_TASK_COUNT = 16;

/**
 * Same-life cut-offs, every seed: at most one per run, 2.5-4 s (the harness's heartbeatTimeoutMs is
 * 1.5 s and waveTimeoutMs 2 s: the node is declared dead, and a cut-off giver presumes its offer moved).
 * A third of them cut the giver off from the dispatcher only and hold its offer back 1.7-1.95 s: it
 * reaches the receiver after the dispatcher declared the giver dead, before the giver presumes it moved.
 */
const CUTS = {
  probability: 0.15,
  fromDispatcherShare: 1 / 3,
  giverShare: 0.5,
  countMax: 1,
  downMs: { min: 2_500, max: 4_000 },
  offerHoldMs: { min: 1_700, max: 1_950 },
} as const;

/**
 * The fault plan of one seed. Even seeds: one or two kills with restarts at random times and a
 * partitioned subtree. Odd seeds: up to two faults right after a move step (overlay-crashes.ts): a
 * crash of a receiver that took tasks or of a giver that committed them, restarted 100-600 ms later,
 * or a receiver's overlay sends lost for 2.5 s (its reply comes after the giver stopped waiting).
 * Every seed: loss and duplication, and maybe one same-life cut-off of a giver or receiver as an offer
 * leaves (CUTS: longer than the dispatcher's heartbeat timeout, so it is declared dead and comes back).
 */
export function faultPlan(seed: number): OverlaySimOptions {
  const rng = seededRng(seed * 31 + 7);
  const others = TREE_7.nodes.slice(1).map((n) => n.id);
  const pick = (): string => others[randomIntInclusive(rng, 0, others.length - 1)] as string;
  const victims = [pick(), pick()].filter((id, k, all) => all.indexOf(id) === k); // distinct: one life at a time
  const restarts = victims.slice(0, randomIntInclusive(rng, 1, 2)).map((id) => ({
    id,
    atMs: randomIntInclusive(rng, 600, 2_400),
    downMs: randomIntInclusive(rng, 20, 900),
  }));
  const fromMs = randomIntInclusive(rng, 500, 2_500);
  const partition =
    seed % 2 === 0 ? { id: pick(), fromMs, toMs: fromMs + randomIntInclusive(rng, 200, 1_200) } : undefined;
  // Odd seeds (no partition) crash nodes at the worst moments of moves instead of at planned times.
  const isCrashSeed = seed % 2 === 1;
  return {
    seed,
    lossProbability: 0.1,
    taskCount: FAULT_TASK_COUNT,
    othersJoinAtMs: 300,
    rebalanceIntervalMs: 300,
    restarts: isCrashSeed ? [] : restarts,
    ...(isCrashSeed
      ? {
          moveCrashes: {
            probability: 0.5,
            slowReplyShare: 0.5,
            countMax: 2,
            downMs: { min: 100, max: 600 },
            slowMs: 2_500,
            offers: {
              probability: 0.3,
              restartShare: 0.5,
              countMax: 1,
              holdMs: { min: 2_600, max: 3_000 },
              downMs: { min: 2_500, max: 4_000 },
            },
            echoCrashes: { probability: 0.1, countMax: 1 },
            cuts: CUTS,
          },
        }
      : {
          moveCrashes: {
            probability: 0,
            slowReplyShare: 0,
            countMax: 0,
            downMs: { min: 0, max: 0 },
            slowMs: 0,
            cuts: CUTS,
          },
        }),
    ...(partition === undefined ? {} : { partition }),
    simTimeMsMin: 4_500,
    simTimeMsMax: 60_000,
  };
}
