/**
 * The security benchmarks of `npm run bench` (issue 12): authentication's cost at window 64
 * (auth-bench.ts) and the lag-aware failure detector's figures (stall-bench.ts, simulated). Runs
 * them within the full benchmark, or alone with `--only auth` or `--only stalls`, which rewrite only
 * their own section of docs/BENCHMARKS.md.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

import { authMarkdown, benchAuth, spliceByHeading } from "./auth-bench.js";
import { killAll } from "./processes.js";
import { benchStalls, stallMarkdown } from "./stall-bench.js";
import type { BenchSystem, SystemOptions } from "./systems.js";

/** What the security benchmarks need from the command line. */
export interface SecurityBenchOptions extends SystemOptions {
  readonly repetitions: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly latencyWarmupS: number;
  readonly outPath: string;
  readonly shouldWrite: boolean;
}

/** The window authentication is measured at (the issue's). */
export const AUTH_WINDOW = 64;

/** Authentication on vs off; `plain` is a running cluster without a key file, if there is one. */
export async function authSection(options: SecurityBenchOptions, plain?: BenchSystem): Promise<string> {
  console.log(`\nauthentication on vs off at window ${AUTH_WINDOW}:`);
  const section = authMarkdown(await benchAuth({ ...options, window: AUTH_WINDOW }, plain));
  console.log(`\n${section}`);
  return section;
}

/** The lag-aware failure detector's simulated figures. */
export function stallSection(): string {
  const section = stallMarkdown(benchStalls());
  console.log(`\n${section}`);
  return section;
}

/** `--only auth` or `--only stalls`: runs it and replaces only its section of the report. */
export async function runOnlySecurity(name: "auth" | "stalls", options: SecurityBenchOptions): Promise<void> {
  try {
    const section = name === "auth" ? await authSection(options) : stallSection();
    if (options.shouldWrite) {
      const document = existsSync(options.outPath) ? readFileSync(options.outPath, "utf8") : "# Benchmarks\n";
      writeFileSync(options.outPath, spliceByHeading(document, section));
      console.log(`wrote ${options.outPath}`);
    }
  } finally {
    killAll();
  }
}
