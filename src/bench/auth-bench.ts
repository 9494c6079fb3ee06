/**
 * Authentication's cost in `npm run bench` (issue 12 item 7): the same cluster (dispatcher, calculators,
 * a run-client per run) with and without a key file on every process, measured alternately at window
 * 64 in the same session so contention hits both alike. Target: authenticated throughput at least
 * 0.8x unauthenticated. Reports medians, every run, and the ratio.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuPerTask, measureAlternately } from "./alternate.js";
import { median } from "./report.js";
import { type BenchSystem, type RunResult, type SystemOptions, startCluster } from "./systems.js";

/** Authenticated ÷ unauthenticated throughput must be at least this. */
export const AUTH_THROUGHPUT_RATIO_MIN = 0.8;

/** Settings of the comparison. */
export interface AuthBenchOptions extends SystemOptions {
  readonly window: number;
  readonly repetitions: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly latencyWarmupS: number;
}

/** What the comparison found (medians over the repetitions, tasks/s and ms). */
export interface AuthBench {
  readonly window: number;
  readonly offTasksPerS: number;
  readonly onTasksPerS: number;
  readonly offP99Ms: number;
  readonly onP99Ms: number;
  readonly offCpuUsPerTask: number;
  readonly onCpuUsPerTask: number;
  readonly runsOff: readonly number[];
  readonly runsOn: readonly number[];
  readonly date: string;
}

/** Measures `plain` (running, no key file) against a fresh cluster with one, alternating. */
export async function benchAuth(options: AuthBenchOptions, plain?: BenchSystem): Promise<AuthBench> {
  const dir = mkdtempSync(join(tmpdir(), "udp-cluster-bench-auth-"));
  const keyFile = join(dir, "keys.json");
  const secret = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff)).toString("base64");
  writeFileSync(keyFile, JSON.stringify({ keys: { bench: secret }, active: "bench" }));
  chmodSync(keyFile, 0o600);
  const unauthenticated = plain ?? (await startCluster(options));
  const authenticated = await startCluster({ ...options, keyFile });
  const off: RunResult[] = [];
  const on: RunResult[] = [];
  try {
    for (const system of [unauthenticated, authenticated]) await system.measure(options.window, options.warmupS, 0);
    const runs = await measureAlternately(
      { system: unauthenticated, label: "auth off" },
      { system: authenticated, label: "auth on " },
      options,
      (run) => `cpu ${cpuPerTask(run)} µs/task`,
    );
    off.push(...runs.off);
    on.push(...runs.on);
  } finally {
    await authenticated.stop();
    if (plain === undefined) await unauthenticated.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    window: options.window,
    offTasksPerS: median(off.map((r) => r.tasksPerS)),
    onTasksPerS: median(on.map((r) => r.tasksPerS)),
    offP99Ms: median(off.map((r) => r.p99Ms)),
    onP99Ms: median(on.map((r) => r.p99Ms)),
    offCpuUsPerTask: median(off.map(cpuPerTask)),
    onCpuUsPerTask: median(on.map(cpuPerTask)),
    runsOff: off.map((r) => Math.round(r.tasksPerS)),
    runsOn: on.map((r) => Math.round(r.tasksPerS)),
    date: new Date().toISOString().slice(0, 16).replace("T", " "),
  };
}

/** The comparison as a Markdown section (also printed). */
export function authMarkdown(bench: AuthBench): string {
  const ratio = bench.offTasksPerS > 0 ? bench.onTasksPerS / bench.offTasksPerS : 0;
  const verdict = ratio >= AUTH_THROUGHPUT_RATIO_MIN ? "met" : "MISSED";
  return `## Authentication (window ${bench.window})

The same cluster with a key file on every process (HMAC-SHA256 over every datagram, replay windows,
docs/SECURITY.md) against the cluster without one, alternating runs, ${bench.runsOff.length} of each, measured
${bench.date} UTC. CPU is summed over the client, the dispatcher and the calculators, per answered task.

| auth | tasks/s (median) | p99 ms (median) | CPU µs/task (median) | runs (tasks/s) |
|---|---|---|---|---|
| off | ${Math.round(bench.offTasksPerS)} | ${bench.offP99Ms.toFixed(2)} | ${Math.round(bench.offCpuUsPerTask)} | ${bench.runsOff.join(", ")} |
| on | ${Math.round(bench.onTasksPerS)} | ${bench.onP99Ms.toFixed(2)} | ${Math.round(bench.onCpuUsPerTask)} | ${bench.runsOn.join(", ")} |

Authenticated: ${ratio.toFixed(2)}× the unauthenticated throughput (target ≥ ${AUTH_THROUGHPUT_RATIO_MIN}×): ${verdict}.
`;
}

/**
 * Replaces the section of `document` that starts with `section`'s heading (its first line) up to the
 * next \`## \` heading, or appends it.
 */
export function spliceByHeading(document: string, section: string): string {
  const heading = `${section.split("\n", 1)[0] ?? ""}\n`;
  const start = document.indexOf(heading);
  if (start < 0) return `${document.trimEnd()}\n\n${section}`;
  const next = document.indexOf("\n## ", start + heading.length);
  const rest = next < 0 ? "" : document.slice(next + 1);
  return `${document.slice(0, start)}${section}${rest === "" ? "" : `\n${rest}`}`;
}
