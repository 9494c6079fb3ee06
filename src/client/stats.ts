/**
 * Client statistics (SPEC section 4): counters plus an hdr latency histogram, rendered as the JSON
 * object of `--stats-json` and as a readable table.
 */
import { LatencyRecorder, type LatencySummaryMs } from "../metrics/latency.js";
import type { TaskRecord } from "./types.js";

/** The statistics object, exactly as SPEC section 4 names its fields. */
export interface ClientStatistics {
  readonly sent: number;
  readonly received: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly unanswered: number;
  readonly wrong: number;
  readonly duplicates: number;
  readonly durationS: number;
  readonly latencyMs: LatencySummaryMs;
}

/**
 * Accumulates what the client core reports. With a latency warm-up, tasks first sent before
 * `latencyFromMs` are counted but left out of the latency histogram: a fresh Node process answers
 * slowly while its JIT compiler warms up, which is the load generator's cost, not the cluster's.
 */
export class StatsRecorder {
  readonly #latency = new LatencyRecorder();
  /** Clock time (ms) from which a task's first send counts towards latency; -Infinity = all. */
  readonly #latencyFromMs: number;
  #sent = 0;
  #succeeded = 0;
  #failed = 0;
  #wrong = 0;
  #duplicates = 0;
  /** Failure reasons and their counts. BOUNDED: reasons are short codes from a small set. */
  readonly failureReasons = new Map<string, number>();

  constructor(latencyFromMs = Number.NEGATIVE_INFINITY) {
    this.#latencyFromMs = latencyFromMs;
  }

  onSent(): void {
    this.#sent += 1;
  }

  onDuplicate(): void {
    this.#duplicates += 1;
  }

  /** Counts an ended task; `firstSentMs` places it before or after the warm-up. */
  onEnded(record: TaskRecord, firstSentMs: number): void {
    if (record.outcome === "unanswered") return;
    if (record.latencyMs !== null && firstSentMs >= this.#latencyFromMs) {
      this.#latency.recordMs(record.latencyMs);
    }
    if (record.outcome === "ok") {
      this.#succeeded += 1;
      return;
    }
    this.#failed += 1;
    if (record.reason === "wrong_result") this.#wrong += 1;
    const reason = record.reason ?? "unknown";
    this.failureReasons.set(reason, (this.failureReasons.get(reason) ?? 0) + 1);
  }

  snapshot(durationS: number): ClientStatistics {
    const received = this.#succeeded + this.#failed;
    return {
      sent: this.#sent,
      received,
      succeeded: this.#succeeded,
      failed: this.#failed,
      unanswered: this.#sent - received,
      wrong: this.#wrong,
      duplicates: this.#duplicates,
      durationS: Math.round(durationS * 1_000) / 1_000,
      latencyMs: this.#latency.summaryMs(),
    };
  }
}

/**
 * What the cluster survived (SPEC 4), shown in the table and the progress line but not part of the
 * statistics object: `resentCount` and `replacedSeenCount` are the client's own view, `dispatcher`
 * what the dispatcher said when it could be asked (undefined: it did not answer).
 */
export interface SurvivedView {
  /** Submits sent again before the dispatcher acknowledged them. */
  readonly resentCount: number;
  /** Successful answers that needed more than one copy (`attempts` > 1). */
  readonly replacedSeenCount: number;
  readonly dispatcher:
    | {
        readonly address: string;
        /** Calculators declared dead since the dispatcher started; undefined when it does not say. */
        readonly outageCount: number | undefined;
        /** Copies re-placed since the dispatcher started; undefined when it does not say. */
        readonly replacedCount: number | undefined;
        /** How old the dispatcher's figures are (s). */
        readonly ageS: number;
      }
    | { readonly address: string; readonly outageCount?: undefined }
    | undefined;
}

function survivedRows(survived: SurvivedView): [string, string][] {
  const rows: [string, string][] = [
    ["resends", `${survived.resentCount} (submits sent again before the dispatcher acknowledged them)`],
    ["re-placed tasks", `${survived.replacedSeenCount} (answers that needed more than one copy)`],
  ];
  const dispatcher = survived.dispatcher;
  if (dispatcher === undefined) return rows;
  if (dispatcher.outageCount === undefined) {
    rows.push([`dispatcher ${dispatcher.address}`, "did not say (no answer to admin.status)"]);
    return rows;
  }
  const age = dispatcher.ageS >= 5 ? ` (${dispatcher.ageS.toFixed(0)} s old)` : "";
  rows.push(
    [`calculator outages`, `${dispatcher.outageCount} (declared dead by the dispatcher ${dispatcher.address})${age}`],
    [`re-placed copies`, `${dispatcher.replacedCount ?? 0} (taken from a calculator and placed again)${age}`],
  );
  return rows;
}

/** Renders statistics as an aligned two-column table for a terminal. */
export function formatStatsTable(
  stats: ClientStatistics,
  failureReasons?: ReadonlyMap<string, number>,
  latencyWarmupS = 0,
  survived?: SurvivedView,
): string {
  const rows: [string, string][] = [
    ["sent", String(stats.sent)],
    ["received", String(stats.received)],
    ["  succeeded", String(stats.succeeded)],
    ["  failed", String(stats.failed)],
    ["unanswered", String(stats.unanswered)],
    ["wrong", String(stats.wrong)],
    ["duplicates", String(stats.duplicates)],
    ["duration", `${stats.durationS.toFixed(1)} s`],
    ["throughput", `${stats.durationS > 0 ? (stats.received / stats.durationS).toFixed(1) : "0.0"} tasks/s`],
  ];
  for (const [reason, count] of failureReasons ?? []) rows.push([`  failed: ${reason}`, String(count)]);
  if (survived !== undefined) rows.push(...survivedRows(survived));
  const l = stats.latencyMs;
  // No answers: no latency (SPEC 4 prints "-", not 0.0 ms).
  const fmt = (value: number): string => (stats.received === 0 ? "-" : `${value.toFixed(1)} ms`);
  if (latencyWarmupS > 0) rows.push(["latency of", `tasks sent after the first ${latencyWarmupS} s (warm-up)`]);
  rows.push(
    ["latency min", fmt(l.min)],
    ["latency mean", fmt(l.mean)],
    ["latency p50", fmt(l.p50)],
    ["latency p90", fmt(l.p90)],
    ["latency p99", fmt(l.p99)],
    ["latency p99.9", fmt(l.p999)],
    ["latency max", fmt(l.max)],
  );
  const width = Math.max(...rows.map(([name]) => name.length));
  return ["statistics", ...rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`)].join("\n");
}
