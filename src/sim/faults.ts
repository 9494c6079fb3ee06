/**
 * Fault schedules for the whole-cluster simulation, drawn from a seed: the original one-fault-per-
 * calculator schedule, and a harder plan with several faults per calculator over a longer span
 * (crashes for good, crashes with a restart under the same identity, freezes, one-way and two-way
 * partitions from the dispatcher) plus an optional blackout that takes every calculator down at once.
 */
import { type Rng, randomIntInclusive } from "../runtime/rng.js";

/** One scheduled fault. `index` is the calculator (0 for dispatcher_restart). */
export interface Fault {
  readonly atMs: number;
  readonly kind:
    | "crash"
    | "restart"
    | "freeze"
    | "thaw"
    | "dispatcher_restart"
    /** Calculator -> dispatcher blocked (its heartbeats and results are lost). */
    | "cut_up"
    /** Dispatcher -> calculator blocked (assigns, probes and cancels are lost). */
    | "cut_down"
    /** Both directions blocked. */
    | "cut_both"
    | "heal"
    /** Cut off from everyone (the blackout), independent of the calculator's own faults. */
    | "isolate"
    | "rejoin";
  readonly index: number;
  /** Drawn while the run goes (crash after a vote or cancel), not from the plan. */
  readonly isReactive?: boolean;
}

/** The harder fault plan (SimFaultPlan in ClusterSimOptions). */
export interface FaultPlan {
  /** Faults start within [50, spanMs]. */
  readonly spanMs: number;
  /** Faults per calculator, drawn in [min, max]; faults of one calculator never overlap. */
  readonly perCalculator: { readonly min: number; readonly max: number };
  /** How long a fault lasts (ms), drawn in [min, max]. */
  readonly downMs: { readonly min: number; readonly max: number };
  /** Calculators 0..untouchedCount-1 get no faults (0 = every calculator may fail). */
  readonly untouchedCount: number;
  /** Relative weights of the fault kinds. */
  readonly weights: Readonly<Partial<Record<"crashForGood" | "restart" | "freeze" | "partition", number>>>;
  /** Every calculator cut off from atMs for downMs (on top of its own faults): nothing can run. */
  readonly blackout?: { readonly atMs: number; readonly downMs: number };
}

/** The original schedule: one crash or freeze per calculator (never calc-0) in the first 2.5 s. */
export function drawSimpleFaults(calculatorCount: number, rng: Rng): Fault[] {
  const faults: Fault[] = [];
  for (let index = 1; index < calculatorCount; index += 1) {
    const atMs = randomIntInclusive(rng, 50, 2_500);
    const downMs = randomIntInclusive(rng, 100, 2_000);
    const draw = rng();
    const isCrash = draw < 0.6;
    faults.push({ atMs, kind: isCrash ? "crash" : "freeze", index });
    // A third of the crashes are permanent: only re-placement can save the tasks they held.
    if (draw >= 0.2) faults.push({ atMs: atMs + downMs, kind: isCrash ? "restart" : "thaw", index });
  }
  return faults;
}

/** Draws a FaultPlan's faults: a sequence of non-overlapping faults per calculator, and the blackout. */
export function drawPlannedFaults(calculatorCount: number, plan: FaultPlan, rng: Rng): Fault[] {
  const faults: Fault[] = [];
  const weights = plan.weights;
  const kinds = (["crashForGood", "restart", "freeze", "partition"] as const).filter((k) => (weights[k] ?? 0) > 0);
  const total = kinds.reduce((sum, k) => sum + (weights[k] ?? 0), 0);
  for (let index = plan.untouchedCount; index < calculatorCount; index += 1) {
    const count = randomIntInclusive(rng, plan.perCalculator.min, plan.perCalculator.max);
    let fromMs = 50;
    for (let n = 0; n < count && total > 0; n += 1) {
      const atMs = randomIntInclusive(rng, fromMs, fromMs + Math.floor(plan.spanMs / count));
      const downMs = randomIntInclusive(rng, plan.downMs.min, plan.downMs.max);
      const kind = pickWeighted(kinds, weights, rng() * total);
      if (kind === "crashForGood") {
        faults.push({ atMs, kind: "crash", index });
        break;
      }
      if (kind === "partition") {
        const side = rng();
        const cut = side < 1 / 3 ? "cut_up" : side < 2 / 3 ? "cut_down" : "cut_both";
        faults.push({ atMs, kind: cut, index }, { atMs: atMs + downMs, kind: "heal", index });
      } else {
        const isCrash = kind === "restart";
        faults.push({ atMs, kind: isCrash ? "crash" : "freeze", index });
        faults.push({ atMs: atMs + downMs, kind: isCrash ? "restart" : "thaw", index });
      }
      fromMs = atMs + downMs + 50;
    }
  }
  if (plan.blackout !== undefined) {
    const { atMs, downMs } = plan.blackout;
    for (let index = 0; index < calculatorCount; index += 1) {
      faults.push({ atMs, kind: "isolate", index }, { atMs: atMs + downMs, kind: "rejoin", index });
    }
  }
  return faults;
}

function pickWeighted<K extends string>(
  kinds: readonly K[],
  weights: Readonly<Partial<Record<K, number>>>,
  draw: number,
): K {
  let left = draw;
  for (const kind of kinds) {
    left -= weights[kind] ?? 0;
    if (left < 0) return kind;
  }
  return kinds[kinds.length - 1] as K;
}
