/**
 * The A/B loop of the benchmarks that compare a cluster with and without one feature (auth, the
 * journal): two running systems measured alternately in the same session, the order swapped every
 * other repetition, so contention and drift on the shared machine hit both alike. Each run is printed
 * as it ends.
 */
import type { BenchSystem, RunResult } from "./systems.js";

/** One side of the comparison: a running system and the label its runs are printed with. */
export interface Side {
  readonly system: BenchSystem;
  readonly label: string;
}

/** How long and how often each side is measured. */
export interface AlternateOptions {
  readonly window: number;
  readonly repetitions: number;
  readonly durationS: number;
  readonly latencyWarmupS: number;
}

/** Runs of each side, in the order they were measured. */
export interface AlternateRuns {
  readonly off: RunResult[];
  readonly on: RunResult[];
}

/** CPU of all processes (client, dispatcher, calculators) per answered task of a run (µs). */
export function cpuPerTask(run: RunResult): number {
  return run.cpuUsPerTask.load + run.cpuUsPerTask.hub + run.cpuUsPerTask.workers;
}

/** Measures `off` and `on` alternately; `describe` adds the bench's own figures to each printed run. */
export async function measureAlternately(
  off: Side,
  on: Side,
  options: AlternateOptions,
  describe: (run: RunResult) => string,
): Promise<AlternateRuns> {
  const runs: AlternateRuns = { off: [], on: [] };
  for (let repetition = 1; repetition <= options.repetitions; repetition += 1) {
    const order: [Side, RunResult[]][] = [
      [off, runs.off],
      [on, runs.on],
    ];
    if (repetition % 2 === 0) order.reverse();
    for (const [side, into] of order) {
      const run = await side.system.measure(options.window, options.durationS, options.latencyWarmupS);
      into.push(run);
      console.log(
        `  ${side.label} window ${options.window} run ${repetition}: ${Math.round(run.tasksPerS)} tasks/s, ` +
          `p99 ${run.p99Ms.toFixed(2)} ms, ${describe(run)}`,
      );
    }
  }
  return runs;
}
