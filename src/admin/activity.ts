/**
 * What the dashboard plots and lists, recorded from the dispatcher core's outputs: completions,
 * failures and latency per second over the last minutes, recent failures with their reasons, and a
 * latency estimate per calculator. Pure: time arrives as nowMs.
 */
import type { DispatcherOutput } from "../dispatcher/types.js";

/** Seconds of history kept for the charts. */
export const HISTORY_S_MAX = 300;
/** Recent failures kept for the dashboard. */
export const RECENT_FAILURES_MAX = 50;
/** Calculators with a latency estimate (matches the registry's default calculatorsMax). */
const LATENCY_ENTRIES_MAX = 1_000;
/** Weight of the newest completion in a calculator's latency estimate. */
const LATENCY_EWMA_WEIGHT = 0.2;

/** One second of activity. */
export interface SecondSample {
  /** Start of the second (ms since the epoch of the clock used). */
  readonly atMs: number;
  succeeded: number;
  failed: number;
  replaced: number;
  /** Sum and max of completion latencies this second (ms). */
  latencySumMs: number;
  latencyMaxMs: number;
}

/** One failed task. */
export interface FailureRecord {
  readonly atMs: number;
  readonly taskId: string;
  readonly reason: string;
}

/** Records activity; bounded by HISTORY_S_MAX seconds, RECENT_FAILURES_MAX failures, LATENCY_ENTRIES_MAX. */
export class ActivityLog {
  /** BOUNDED: HISTORY_S_MAX samples (oldest dropped). */
  readonly #seconds: SecondSample[] = [];
  /** BOUNDED: RECENT_FAILURES_MAX (oldest dropped). */
  readonly #failures: FailureRecord[] = [];
  /** BOUNDED: LATENCY_ENTRIES_MAX ids; unknown ids beyond it get no estimate. */
  readonly #latencyMs = new Map<string, number>();
  succeededCount = 0;
  failedCount = 0;

  /** Records one core output at nowMs. */
  observe(nowMs: number, output: DispatcherOutput): void {
    switch (output.kind) {
      case "task_completed": {
        this.succeededCount += 1;
        const sample = this.#sampleAt(nowMs);
        sample.succeeded += 1;
        sample.latencySumMs += output.latencyMs;
        sample.latencyMaxMs = Math.max(sample.latencyMaxMs, output.latencyMs);
        const previous = this.#latencyMs.get(output.calculatorId);
        if (previous !== undefined || this.#latencyMs.size < LATENCY_ENTRIES_MAX) {
          const next =
            previous === undefined
              ? output.latencyMs
              : previous * (1 - LATENCY_EWMA_WEIGHT) + output.latencyMs * LATENCY_EWMA_WEIGHT;
          this.#latencyMs.set(output.calculatorId, next);
        }
        break;
      }
      case "task_failed":
        this.failedCount += 1;
        this.#sampleAt(nowMs).failed += 1;
        this.#failures.push({ atMs: nowMs, taskId: output.taskId, reason: output.reason });
        if (this.#failures.length > RECENT_FAILURES_MAX) this.#failures.shift();
        break;
      case "task_replaced":
        this.#sampleAt(nowMs).replaced += 1;
        break;
      case "calculator_evicted":
        this.#latencyMs.delete(output.calculatorId);
        break;
      default:
        break;
    }
  }

  /** A calculator's latency estimate (ms, rounded), or null before its first completion. */
  latencyOf(calculatorId: string): number | null {
    const value = this.#latencyMs.get(calculatorId);
    return value === undefined ? null : Math.round(value);
  }

  /** The last `seconds` of history, one entry per second up to nowMs (empty seconds filled with zeros). */
  history(nowMs: number, seconds = HISTORY_S_MAX): SecondSample[] {
    const endMs = Math.floor(nowMs / 1_000) * 1_000;
    const byStart = new Map(this.#seconds.map((sample) => [sample.atMs, sample]));
    const out: SecondSample[] = [];
    for (let atMs = endMs - (seconds - 1) * 1_000; atMs <= endMs; atMs += 1_000) {
      out.push(byStart.get(atMs) ?? { atMs, succeeded: 0, failed: 0, replaced: 0, latencySumMs: 0, latencyMaxMs: 0 });
    }
    return out;
  }

  /** Recent failures, newest first. */
  recentFailures(): FailureRecord[] {
    return [...this.#failures].reverse();
  }

  #sampleAt(nowMs: number): SecondSample {
    const atMs = Math.floor(nowMs / 1_000) * 1_000;
    const last = this.#seconds.at(-1);
    if (last !== undefined && last.atMs === atMs) return last;
    const sample = { atMs, succeeded: 0, failed: 0, replaced: 0, latencySumMs: 0, latencyMaxMs: 0 };
    this.#seconds.push(sample);
    if (this.#seconds.length > HISTORY_S_MAX) this.#seconds.shift();
    return sample;
  }
}
