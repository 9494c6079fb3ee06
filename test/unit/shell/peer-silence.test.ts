/**
 * Goal: the "peer does not answer" decision (shell/peer-watch.ts) warns once after warnAfterMs of
 * silence, then only every repeatMs while it lasts (sparsely, never per check), probes at most every
 * probeEveryMs while silent and never while the peer talks, starts over when the peer is heard, and
 * neither warns nor probes during a chosen silence (an emulated outage).
 * Method: PeerSilence with plain times, checked every 100 ms of simulated time.
 */
import { describe, expect, it } from "vitest";

import { PeerSilence } from "../../../src/shell/peer-watch.js";

const TIMING = { warnAfterMs: 5_000, repeatMs: 30_000, probeEveryMs: 1_000 };

/** Runs checks every 100 ms over [fromMs, toMs); returns the times of warnings and probes. */
function run(silence: PeerSilence, fromMs: number, toMs: number, isPaused = false) {
  const warnings: number[] = [];
  const probes: number[] = [];
  for (let nowMs = fromMs; nowMs < toMs; nowMs += 100) {
    const check = silence.onCheck(nowMs, isPaused);
    if (check.warnSilentMs !== undefined) warnings.push(nowMs);
    if (check.shouldProbe) probes.push(nowMs);
  }
  return { warnings, probes };
}

describe("PeerSilence", () => {
  it("warns after 5 s of silence, then every 30 s, probing once a second", () => {
    const silence = new PeerSilence(TIMING, 0);
    const { warnings, probes } = run(silence, 0, 70_000);
    expect(warnings).toEqual([5_000, 35_000, 65_000]);
    expect(probes[0]).toBe(1_000);
    expect(probes.length).toBe(69);
    expect(silence.warnedCount).toBe(3);
  });

  it("a peer that talks is never warned about nor probed", () => {
    const silence = new PeerSilence(TIMING, 0);
    for (let nowMs = 0; nowMs < 60_000; nowMs += 500) {
      silence.onHeard(nowMs);
      const check = silence.onCheck(nowMs + 400);
      expect(check).toEqual({ shouldProbe: false, warnSilentMs: undefined });
    }
  });

  it("hearing the peer after a warning reports the silence and starts over", () => {
    const silence = new PeerSilence(TIMING, 0);
    run(silence, 0, 6_000);
    expect(silence.onHeard(7_000)).toBe(7_000);
    expect(silence.warnedCount).toBe(0);
    expect(silence.onHeard(7_500)).toBeUndefined(); // no warning in between: nothing to report
    expect(run(silence, 7_600, 12_400).warnings).toEqual([]);
    expect(run(silence, 12_400, 13_000).warnings).toEqual([12_500]);
  });

  it("a chosen silence (outage) neither warns nor probes, and the count starts after it", () => {
    const silence = new PeerSilence(TIMING, 0);
    expect(run(silence, 0, 20_000, true)).toEqual({ warnings: [], probes: [] });
    // The last paused check was at 19 900 ms: the silence counts from there.
    const after = run(silence, 20_000, 26_000);
    expect(after.warnings).toEqual([24_900]);
  });
});
