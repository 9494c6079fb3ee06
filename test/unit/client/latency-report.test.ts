/**
 * Goal: the latency report never shows a percentile above the maximum (the hdr bucket bound must not
 * leak out) and shows "-" when nothing was answered (SPEC 4).
 * Method: LatencyRecorder with values whose buckets end above them; formatStatsTable on empty stats.
 */
import { describe, expect, it } from "vitest";

import { formatStatsTable, StatsRecorder } from "../../../src/client/stats.js";
import { LatencyRecorder } from "../../../src/metrics/latency.js";

describe("latency report", () => {
  it("keeps min <= p50 <= p90 <= p99 <= p999 <= max", () => {
    for (const value of [3093.4, 1.0005, 12_345.678, 0.5]) {
      const recorder = new LatencyRecorder();
      for (let i = 0; i < 10; i += 1) recorder.recordMs(value);
      const s = recorder.summaryMs();
      const ordered = [s.min, s.p50, s.p90, s.p99, s.p999, s.max];
      expect(ordered, String(value)).toEqual([...ordered].sort((a, b) => a - b));
      expect(s.p999, String(value)).toBeLessThanOrEqual(s.max);
    }
  });

  it('prints "-" for latency when nothing was answered', () => {
    const table = formatStatsTable(new StatsRecorder().snapshot(1));
    expect(table).toMatch(/latency p99\.9\s+-$/m);
    expect(table).not.toContain("0.0 ms");
  });
});
