/**
 * What the dashboard plots and lists, recorded from the dispatcher core's outputs: completions,
 * failures and latency per second over the last minutes, and recent failures with their reasons.
 * (Per-calculator estimates live in the core: dispatcher/estimates.ts.) Pure: time arrives as nowMs.
 */
import type { DispatcherOutput } from "../dispatcher/types.js";

/** Seconds of history kept for the charts. */
export const HISTORY_S_MAX = 300;
/** Recent failures kept for the dashboard. */
export const RECENT_FAILURES_MAX = 50;

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

/** Records activity; bounded by HISTORY_S_MAX seconds and RECENT_FAILURES_MAX failures. */
export class ActivityLog {
  /** BOUNDED: HISTORY_S_MAX samples (oldest dropped). */
  readonly #seconds: SecondSample[] = [];
  /** BOUNDED: RECENT_FAILURES_MAX (oldest dropped). */
  readonly #failures: FailureRecord[] = [];

  /** Records one core output at nowMs. */
  observe(nowMs: number, output: DispatcherOutput): void {
    switch (output.kind) {
      case "task_completed": {
        const sample = this.#sampleAt(nowMs);
        sample.succeeded += 1;
        sample.latencySumMs += output.latencyMs;
        sample.latencyMaxMs = Math.max(sample.latencyMaxMs, output.latencyMs);
        break;
      }
      case "task_failed":
        this.#sampleAt(nowMs).failed += 1;
        this.#failures.push({ atMs: nowMs, taskId: output.taskId, reason: output.reason });
        if (this.#failures.length > RECENT_FAILURES_MAX) this.#failures.shift();
        break;
      case "task_replaced":
        this.#sampleAt(nowMs).replaced += 1;
        break;
      default:
        break;
    }
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
