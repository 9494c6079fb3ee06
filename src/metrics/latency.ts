/**
 * Latency in an hdr histogram, recorded in microseconds with every build option explicit. Values
 * above the ceiling are clamped and counted, never thrown.
 */
import * as hdr from "hdr-histogram-js";

/** Highest latency recorded exactly: 10 minutes, in microseconds. Larger values are clamped. */
export const LATENCY_US_MAX = 600_000_000;

/** Latency summary in milliseconds (SPEC section 4 `latencyMs`). */
export interface LatencySummaryMs {
  readonly min: number;
  readonly mean: number;
  readonly max: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
}

/** Records latencies and summarises them. */
export class LatencyRecorder {
  readonly #histogram = hdr.build({
    bitBucketSize: 64,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: LATENCY_US_MAX,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
  #clampedCount = 0;

  get count(): number {
    return this.#histogram.totalCount;
  }

  /** Samples above LATENCY_US_MAX (recorded as the maximum). */
  get clampedCount(): number {
    return this.#clampedCount;
  }

  recordMs(latencyMs: number): void {
    let latencyUs = Math.max(1, Math.round(latencyMs * 1_000));
    if (latencyUs > LATENCY_US_MAX) {
      latencyUs = LATENCY_US_MAX;
      this.#clampedCount += 1;
    }
    this.#histogram.recordValue(latencyUs);
  }

  /** The summary in ms, rounded to 0.001 ms; all zeros when nothing was recorded. */
  summaryMs(): LatencySummaryMs {
    const h = this.#histogram;
    if (h.totalCount === 0) return { min: 0, mean: 0, max: 0, p50: 0, p90: 0, p99: 0, p999: 0 };
    const ms = (us: number): number => Math.round(us) / 1_000;
    const maxUs = h.maxValue;
    // A percentile is the upper bound of its bucket, which can lie above the largest value recorded:
    // clamp so that min <= p50 <= ... <= p999 <= max always holds (SPEC 4).
    const at = (percentile: number): number => ms(Math.min(h.getValueAtPercentile(percentile), maxUs));
    return {
      min: ms(h.minNonZeroValue),
      mean: ms(Math.min(h.mean, maxUs)),
      max: ms(maxUs),
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
    };
  }
}
