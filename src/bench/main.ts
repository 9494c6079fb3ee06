/**
 * `npm run bench`: the cluster with zero compute time against a raw anchor doing the same hops, both
 * as real processes on loopback, at closed-loop windows 1 and 64. Prints a table and writes
 * docs/BENCHMARKS.md. Every child process is stopped by PID at the end, on error and on a signal.
 *
 * Flags: `--repetitions N` (3), `--duration-s S` (5), `--warmup-s S` (2, an unrecorded run at the largest
 * window first), `--window-warmup-s S` (10, an unrecorded run at each window before it is measured; 0: none),
 * `--latency-warmup-s S` (1, the start of each run left out of latency; 0: none), `--workers N` (4),
 * `--capacity N` (64), `--windows 1,64`, `--out FILE` (docs/BENCHMARKS.md), `--no-write` (print only),
 * `--only replication` (only the replication benchmarks of replication.ts; rewrites only their section),
 * `--only auth` / `--only stalls` (only authentication on vs off at window 64, or the lag-aware failure
 * detector's simulated figures; security-bench.ts), `--only journal` (only the dispatcher journal on vs
 * off at the largest window; journal-bench.ts),
 * `--only spread` (only Finn spread on a 50-node tree, spread-bench.ts; rewrites only its section).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, platform, release } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

import { benchJournal, journalMarkdown, runOnlyJournal } from "./journal-bench.js";
import { killAll, killAllOnExit } from "./processes.js";
import { benchReplication } from "./replication.js";
import { hedgingVerdict, replicationMarkdown, spliceSection } from "./replication-report.js";
import {
  type BenchSettings,
  benchmarksMarkdown,
  compare,
  cpuTable,
  type MachineFacts,
  resultsTable,
  verdicts,
} from "./report.js";
import { authSection, runOnlySecurity, stallSection } from "./security-bench.js";
import { runOnlySpread } from "./spread-bench.js";
import { type BenchSystem, type RunResult, startAnchor, startCluster } from "./systems.js";

const WINDOWS_DEFAULT: readonly number[] = [1, 64];
const DOCS_PATH = fileURLToPath(new URL("../../../docs/BENCHMARKS.md", import.meta.url));

/**
 * What limits throughput, from profiling this code (`node --cpu-prof` on each daemon, and the CPU
 * table above); kept by hand because it explains the numbers rather than measuring them.
 */
const ANALYSIS = `### What limits throughput

At window 64 both systems are CPU-bound: the two cores are busy with 6 processes each, so throughput is
roughly the inverse of the CPU time per task summed over all processes (the total column).

- **Datagrams, not JavaScript, were the larger cost.** Profiling the dispatcher at window 64 before batching
  (\`node --cpu-prof\` via \`BENCH_NODE_ARGS\`), \`dgram\` \`doSend\` (the send system call, which on loopback also
  delivers to and wakes the receiver) took 44% of its busy time, decode 15% and encode 11%.
- **Batch frames.** A daemon sends the first packet for a peer in an event-loop turn at once and coalesces
  the rest of that turn into one \`batch\` datagram (docs/PROTOCOL.md section 1.1). Under a window of 64 a
  process handles many datagrams per wake-up, so a task costs well under one datagram per hop. Window 64
  went from 0.50x the anchor's throughput to about 0.9-1.1x.

### Window 1: where the tail came from, and what removed it

At window 1 one task is in flight: its latency is the sum of four hops through 6 processes that each
sleep between packets, and the p99 is set by whatever delays 1% of tasks. Measured on this VM, in order
of what each change bought (alternating runs against the build before it, same hour):

- **Objects that outlived young-generation collections.** A sampling heap profile of the dispatcher that
  keeps only objects no minor GC collected (\`includeObjectsCollectedByMinorGC: false\`, two forced minor
  GCs before stopping) showed about 2 100 bytes per task promoted, almost none of it live data. Two V8
  behaviours: \`Map.clear()\` and deleting a Map's last entry both allocate a fresh hash table, and the old
  table, already promoted because the Map lives long, keeps pointing at the new one, so each new table
  survives every scavenge until the next full collection. The send batcher cleared its per-turn Map every
  turn (about 800 bytes per task); the task table, receipts owed, assign table, a calculator's assigned
  set, the calculator's running map and the client's pending table emptied on every task (about 600).
  Fixed by keeping the batcher's per-peer queues across turns (stamped with a turn number) and by
  \`SteadyMap\`/\`SteadySet\` (src/runtime/steady-map.ts), which hold one hidden entry. The dispatcher's
  scavenges went from promoting about 660 KB and pausing 3-5 ms to about 200 KB and 1.5-2 ms; the p99
  went from 0.50-0.84 ms to 0.42-0.46 ms, then to 0.41-0.45 ms (anchor 0.29-0.40 ms).
- **Validation that does not copy.** zod's parse rebuilt every packet with a result record per field. The
  codec now accepts a packet through ajv checks compiled from each zod schema's JSON Schema, which leave
  the parsed object as it is; only what they refuse goes to zod, whose verdict and message stand, and a
  property test holds the two in agreement. Decode 5.6 -> 1.5 µs, encode 4.2 -> 2.5 µs per packet; the
  dispatcher's heap allocation per task (\`--trace-gc-nvp\`) fell from 28-31 KB to 12-15 KB.
- **Caches without an object per entry.** \`BoundedMap\` (every recent-results and dedup cache) keeps keys,
  values and times in a ring of parallel arrays: 129-139 -> 74-76 bytes of heap per entry, keys excluded.
- **No \`dns.lookup\` per datagram.** The socket's \`lookup\` answers an IP literal at once instead of on
  the next tick; names still go through \`dns.lookup\`.
- **Background threads.** \`perf sched\` showed a woken main thread waiting 1-4 ms behind another process's
  V8 helper thread (a TurboFan compile or a parallel scavenge) on the same vCPU while the other vCPU idled,
  once every 300-600 wake-ups of each process (more than 1 ms late, before the fixes above). A fresh \`run-client\` compiles for its first 1-2 s (180
  optimizations in a 4 s run), and from fresh daemons a calculator, which sees a quarter of the tasks,
  was still optimizing 20 s into a window-1 run. That is start-up, not steady state, hence the warm-ups in
  the method above. Without them (a 2 s warm-up, no latency warm-up, fresh daemons) the same build gave
  p99 2.01, 0.68 and 0.60 ms against the anchor's 0.38-0.41 ms in one session: the first run carries the
  daemons' start-up.
- What is left: the cluster still spends about 1.9x the anchor's CPU per task at window 1, spread thin over
  decoding, the cores' bookkeeping, the reliability layer and the kernel, and its p50 is about 1.7x.
- Cores tick only when something is due (\`nextDeadlineMs()\`, one timer per process, spaced at least
  \`tickMs\` apart, plus a 250 ms safety tick): idle, a dispatcher and 4 calculators use about 2% of a core.
- Compare systems within one session, where runs alternate: this VM's speed changes by up to 2x within an
  hour, and both systems move with it.`;

interface Options {
  repetitions: number;
  durationS: number;
  warmupS: number;
  windowWarmupS: number;
  latencyWarmupS: number;
  workerCount: number;
  capacity: number;
  outPath: string;
  shouldWrite: boolean;
  /** Closed-loop windows to measure; the report's targets need 1 and 64. */
  windows: readonly number[];
  /** `--only NAME`: run one group of benchmarks (see ONLY_NAMES); undefined = all. */
  only: string | undefined;
}

/** Groups `--only` accepts. */
const ONLY_NAMES = ["replication", "auth", "stalls", "journal", "spread"] as const;

function parseArgs(argv: readonly string[]): Options {
  const options: Options = {
    repetitions: 3,
    durationS: 5,
    warmupS: 2,
    windowWarmupS: 10,
    latencyWarmupS: 1,
    workerCount: 4,
    capacity: 64,
    outPath: DOCS_PATH,
    shouldWrite: true,
    windows: WINDOWS_DEFAULT,
    only: undefined,
  };
  const numberAfter = (index: number, flag: string, min = Number.MIN_VALUE): number => {
    const value = Number(argv[index + 1]);
    if (!Number.isFinite(value) || value < min) throw new Error(`${flag} expects a number of at least ${min}`);
    return value;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === "--no-write") options.shouldWrite = false;
    else if (flag === "--out") options.outPath = argv[++i] ?? options.outPath;
    else if (flag === "--repetitions") options.repetitions = Math.round(numberAfter(i++, flag));
    else if (flag === "--duration-s") options.durationS = numberAfter(i++, flag);
    else if (flag === "--warmup-s") options.warmupS = numberAfter(i++, flag);
    else if (flag === "--window-warmup-s") options.windowWarmupS = numberAfter(i++, flag, 0);
    else if (flag === "--latency-warmup-s") options.latencyWarmupS = numberAfter(i++, flag, 0);
    else if (flag === "--workers") options.workerCount = Math.round(numberAfter(i++, flag));
    else if (flag === "--capacity") options.capacity = Math.round(numberAfter(i++, flag));
    else if (flag === "--windows") options.windows = parseWindows(argv[++i]);
    else if (flag === "--only") options.only = parseOnly(argv[++i]);
    else throw new Error(`unknown flag ${flag}`);
  }
  if (options.latencyWarmupS >= options.durationS) {
    throw new Error("--latency-warmup-s must be shorter than --duration-s, or no task would count for latency");
  }
  return options;
}

/** `--only NAME`: one of ONLY_NAMES. */
function parseOnly(text: string | undefined): string {
  if (!(ONLY_NAMES as readonly (string | undefined)[]).includes(text))
    throw new Error(`--only expects one of ${ONLY_NAMES.join(", ")}`);
  return text as string;
}

/** The replication benchmarks (replication.ts): prints them and returns their Markdown section. */
async function runReplication(options: Options): Promise<string> {
  const bench = await benchReplication({
    repetitions: options.repetitions,
    durationS: options.durationS,
    warmupS: Math.max(options.warmupS, 3),
  });
  const section = replicationMarkdown(bench);
  console.log(`\n${section}\n${hedgingVerdict(bench)}`);
  return section;
}

/** `--only replication`: runs it and replaces only its section of the report. */
async function runOnlyReplication(options: Options): Promise<void> {
  try {
    const section = await runReplication(options);
    if (options.shouldWrite) {
      const document = existsSync(options.outPath) ? readFileSync(options.outPath, "utf8") : "# Benchmarks\n";
      writeFileSync(options.outPath, spliceSection(document, section));
      console.log(`wrote ${options.outPath}`);
    }
  } finally {
    killAll();
  }
}

/** `--windows 1,64`: positive integers, comma-separated. */
function parseWindows(text: string | undefined): number[] {
  const windows = (text ?? "").split(",").map(Number);
  if (windows.length === 0 || windows.some((window) => !Number.isInteger(window) || window <= 0))
    throw new Error("--windows expects positive integers separated by commas, e.g. 1,64");
  return windows;
}

function machineFacts(): MachineFacts {
  const cpuList = cpus();
  return {
    date: new Date().toISOString().slice(0, 10),
    cpuCount: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? "unknown",
    nodeVersion: process.version,
    platform: `${platform()} ${release()}`,
  };
}

function describe(run: RunResult, repetition: number): string {
  const cpu = run.cpuUsPerTask;
  return (
    `  ${run.system.padEnd(7)} window ${String(run.window).padStart(2)} run ${repetition}: ` +
    `${Math.round(run.tasksPerS)} tasks/s, p50 ${run.p50Ms.toFixed(2)} ms, p99 ${run.p99Ms.toFixed(2)} ms, ` +
    `missing ${run.missing}, cpu µs/task load ${cpu.load} hub ${cpu.hub} workers ${cpu.workers}`
  );
}

/** One unrecorded run, reported in a line. */
async function warmUp(system: BenchSystem, window: number, durationS: number): Promise<void> {
  const warm = await system.measure(window, durationS, 0);
  console.log(`  warm-up ${system.name} window ${window}, ${durationS} s: ${Math.round(warm.tasksPerS)} tasks/s`);
}

async function runBench(options: Options): Promise<void> {
  const settings: BenchSettings = {
    workerCount: options.workerCount,
    capacity: options.capacity,
    windows: options.windows,
    repetitions: options.repetitions,
    warmupS: options.warmupS,
    windowWarmupS: options.windowWarmupS,
    latencyWarmupS: options.latencyWarmupS,
    durationS: options.durationS,
  };
  const systems: BenchSystem[] = [];
  try {
    console.log(`starting cluster and anchor: ${options.workerCount} workers each, capacity ${options.capacity}`);
    systems.push(await startCluster(settings));
    systems.push(await startAnchor(settings));
    // The largest window first exercises every path many times over; then each window gets a run of its
    // own before it is measured, because the daemons' JIT and heap settle per shape of load.
    const largestWindow = Math.max(...options.windows);
    for (const system of systems) await warmUp(system, largestWindow, options.warmupS);
    const runs: RunResult[] = [];
    for (const window of options.windows) {
      if (options.windowWarmupS > 0) for (const system of systems) await warmUp(system, window, options.windowWarmupS);
      for (let repetition = 1; repetition <= options.repetitions; repetition += 1) {
        // Alternate which system goes first so that drift (thermal, background load) hits both alike.
        const order = repetition % 2 === 1 ? systems : [...systems].reverse();
        for (const system of order) {
          const run = await system.measure(window, options.durationS, options.latencyWarmupS);
          runs.push(run);
          console.log(describe(run, repetition));
        }
      }
    }
    const comparisons = compare(runs, options.windows);
    console.log(`\n${resultsTable(comparisons)}\n\n${cpuTable(comparisons)}\n`);
    for (const line of verdicts(comparisons)) console.log(line);
    const journalWindow = Math.max(...options.windows);
    console.log(`\njournal on vs off at window ${journalWindow}:`);
    const journal = await benchJournal(
      { ...settings, window: journalWindow, warmupS: Math.max(options.warmupS, options.windowWarmupS) },
      systems[0] as BenchSystem,
    );
    const journalSection = journalMarkdown(journal);
    console.log(`\n${journalSection}`);
    const replicationSection = await runReplication(options);
    const security = `${await authSection(options, systems[0])}\n${stallSection()}`;
    if (options.shouldWrite) {
      mkdirSync(dirname(options.outPath), { recursive: true });
      writeFileSync(
        options.outPath,
        `${benchmarksMarkdown(machineFacts(), settings, comparisons, ANALYSIS)}\n${journalSection}\n${replicationSection}\n${security}`,
      );
      await runOnlySpread(options.repetitions, options.outPath, true); // appends its own section
      console.log(`wrote ${options.outPath}`);
    }
  } finally {
    await Promise.all(systems.map((system) => system.stop()));
    killAll();
  }
}

/** Entry point of `npm run bench`. */
export async function main(argv: readonly string[]): Promise<void> {
  killAllOnExit();
  try {
    const options = parseArgs(argv);
    if (options.only === "spread") await runOnlySpread(options.repetitions, options.outPath, options.shouldWrite);
    else if (options.only === "auth" || options.only === "stalls") await runOnlySecurity(options.only, options);
    else if (options.only === "journal")
      await runOnlyJournal({
        ...options,
        window: Math.max(...options.windows),
        warmupS: Math.max(options.warmupS, options.windowWarmupS),
      });
    else await (options.only === "replication" ? runOnlyReplication(options) : runBench(options));
  } catch (error) {
    console.error(`bench failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}

main(process.argv.slice(2));
