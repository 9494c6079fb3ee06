/**
 * `npm run fuzz -- --runs N [--seed S]`: runs every fuzz target of src/security/fuzz-targets.ts for its
 * share of N cases (default 1 000 000), in chunks of at most CHUNK_RUNS with seeds S, S+1, ... so a
 * failure names the seed that replays it (`--seed`). Prints cases and time per target and exits 1 on
 * the first failure with fast-check's counterexample; a clean run prints "0 failures".
 */
import { checkTarget, FUZZ_TARGETS } from "../security/fuzz-targets.js";

/** Cases per fast-check run: a progress line each, and a seed that replays a failure quickly. */
const CHUNK_RUNS = 20_000;

interface FuzzOptions {
  readonly runs: number;
  readonly seed: number;
}

function parseArgs(argv: readonly string[]): FuzzOptions {
  let runs = 1_000_000;
  let seed = Date.now() % 1_000_000;
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = Number(argv[i + 1]);
    if ((flag === "--runs" || flag === "--seed") && !(Number.isInteger(value) && value >= 0))
      throw new Error(`${flag} expects a whole number, got ${argv[i + 1] ?? "nothing"}`);
    if (flag === "--runs") runs = value;
    else if (flag === "--seed") seed = value;
    else throw new Error(`unknown flag ${flag} (use --runs N, --seed S)`);
    i += 1;
  }
  return { runs, seed };
}

async function main(argv: readonly string[]): Promise<void> {
  let options: FuzzOptions;
  try {
    options = parseArgs(argv);
  } catch (error) {
    process.stderr.write(`fuzz: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const startedMs = performance.now();
  process.stdout.write(`fuzzing ${options.runs} cases, first seed ${options.seed}\n`);
  let seed = options.seed;
  let totalRuns = 0;
  for (const target of FUZZ_TARGETS) {
    const targetRuns = Math.round(options.runs * target.share);
    const targetStartedMs = performance.now();
    for (let done = 0; done < targetRuns; done += CHUNK_RUNS) {
      const chunkRuns = Math.min(CHUNK_RUNS, targetRuns - done);
      try {
        checkTarget(target, chunkRuns, seed);
      } catch (error) {
        process.stderr.write(`FAILED ${target.name} (seed ${seed}, ${chunkRuns} runs):\n${(error as Error).message}\n`);
        process.exit(1);
      }
      seed += 1;
      totalRuns += chunkRuns;
      // The daemon targets end each case with a stop() that finishes in a microtask; a chunk runs
      // synchronously, so yield to let them finish (without this, a million cases ran out of heap).
      await new Promise((resolve) => setImmediate(resolve));
    }
    const seconds = (performance.now() - targetStartedMs) / 1_000;
    (globalThis as { gc?: () => void }).gc?.(); // with --expose-gc: live heap, not garbage
    const heapMiB = Math.round(process.memoryUsage().heapUsed / 1_048_576);
    process.stdout.write(
      `  ${target.name}: ${targetRuns} cases, ${seconds.toFixed(1)} s, 0 failures (heap ${heapMiB} MiB)\n`,
    );
  }
  const seconds = (performance.now() - startedMs) / 1_000;
  process.stdout.write(`${totalRuns} cases in ${seconds.toFixed(1)} s: 0 crashes, 0 property failures\n`);
}

void main(process.argv.slice(2));
