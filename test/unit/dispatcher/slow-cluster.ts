/**
 * A closed-loop model of the hedging benchmark in the sans-IO core: a DispatcherCore (RepHarness) with
 * calculators that each take a seeded time in their own range per copy, a client that keeps `window`
 * tasks out, a manual clock advanced 1 ms at a time, no loss. It reports each task's latency (submit to
 * final answer), the copies started by kind and where the primaries went: what the benchmark measures
 * with real processes, without their noise.
 */
import type { DispatcherOutput, HedgingConfig } from "../../../src/dispatcher/types.js";
import { randomIntInclusive, seededRng } from "../../../src/runtime/rng.js";
import { type Name, nameAt, RepHarness } from "./replication-fixtures.js";

/** One calculator of the model: a compute time range (ms) and slots. */
export interface ModelCalculator {
  readonly name: Name;
  readonly computeMs: readonly [number, number];
  readonly capacity: number;
}

/** What one model run measured (the warm-up tasks left out). */
export interface ModelRun {
  readonly latenciesMs: number[];
  primaries: number;
  hedges: number;
  readonly primariesOn: Map<Name, number>;
}

/** Nearest-rank quantile of `values` (0 when empty). */
export function quantileOf(values: readonly number[], quantile: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(quantile * sorted.length) - 1)] ?? 0;
}

function taskNumber(taskId: string): number {
  return Number(taskId.slice(-12));
}

/** Runs `count` tasks (after `warmupCount` unrecorded ones) with `window` out at a time. */
export function runSlowCluster(
  calculators: readonly ModelCalculator[],
  hedging: HedgingConfig | undefined,
  options: { readonly count: number; readonly warmupCount: number; readonly window: number; readonly seed: number },
): ModelRun {
  const rng = seededRng(options.seed);
  const h = new RepHarness({ taskTimeoutMs: 60_000, ...(hedging === undefined ? {} : { hedging }) });
  const byName = new Map(calculators.map((calculator) => [calculator.name, calculator]));
  /** Copies running, by calculator: task number → { attempt, doneMs }. */
  const running = new Map<Name, Map<number, { attempt: number; doneMs: number }>>();
  for (const calculator of calculators) {
    running.set(calculator.name, new Map());
    h.beat(0, calculator.name, calculator.capacity);
  }
  const submittedMs = new Map<number, number>();
  const run: ModelRun = { latenciesMs: [], primaries: 0, hedges: 0, primariesOn: new Map() };
  const total = options.warmupCount + options.count;
  let submitted = 0;
  let answered = 0;
  const handle = (nowMs: number, outputs: DispatcherOutput[]): void => {
    for (const output of outputs) {
      if (output.kind === "copy_started" && taskNumber(output.taskId) > options.warmupCount) {
        if (output.copyKind === "primary") {
          run.primaries += 1;
          const name = output.calculatorId.slice("calc-".length) as Name;
          run.primariesOn.set(name, (run.primariesOn.get(name) ?? 0) + 1);
        } else if (output.copyKind === "hedge") run.hedges += 1;
      }
      if (output.kind !== "send") continue;
      const packet = output.packet;
      if (packet.type === "task.assign") {
        const name = nameAt(output.to);
        const copies = running.get(name);
        const range = byName.get(name)?.computeMs ?? [0, 0];
        const n = taskNumber(packet.taskId);
        if (copies !== undefined && !copies.has(n))
          copies.set(n, { attempt: packet.attempt, doneMs: nowMs + randomIntInclusive(rng, range[0], range[1]) });
      } else if (packet.type === "task.cancel" && output.to.port !== 4000) {
        running.get(nameAt(output.to))?.delete(taskNumber(packet.taskId));
      } else if (packet.type === "task.result" || packet.type === "task.failed") {
        const n = taskNumber(packet.taskId);
        const startMs = submittedMs.get(n);
        if (startMs === undefined) continue;
        submittedMs.delete(n);
        answered += 1;
        if (n > options.warmupCount) run.latenciesMs.push(nowMs - startMs);
      }
    }
  };
  for (let nowMs = 1; answered < total && nowMs < 3_600_000; nowMs += 1) {
    for (const [name, copies] of running) {
      for (const [n, copy] of copies) {
        if (copy.doneMs > nowMs) continue;
        copies.delete(n);
        handle(nowMs, h.done(nowMs, name, n, "good", copy.attempt));
      }
    }
    while (submittedMs.size < options.window && submitted < total) {
      submitted += 1;
      submittedMs.set(submitted, nowMs);
      handle(nowMs, h.submit(nowMs, submitted));
    }
    if (nowMs % 100 === 0) {
      for (const calculator of calculators)
        handle(nowMs, h.beat(nowMs, calculator.name, calculator.capacity, running.get(calculator.name)?.size ?? 0));
    }
    if ((h.core.nextDeadlineMs() ?? Number.POSITIVE_INFINITY) <= nowMs) handle(nowMs, h.core.onTick(nowMs));
  }
  return run;
}
