/**
 * `npm run bench`: the cluster with zero compute time against a raw anchor doing the same hops, both
 * as real processes on loopback, at closed-loop windows 1 and 64. Prints a table and writes
 * docs/BENCHMARKS.md. Every child process is stopped by PID at the end, on error and on a signal.
 *
 * Flags: `--repetitions N` (3), `--duration-s S` (5), `--warmup-s S` (2, an unrecorded run at the largest
 * window first), `--window-warmup-s S` (10, an unrecorded run at each window before it is measured),
 * `--latency-warmup-s S` (1, the start of each run left out of latency), `--workers N` (4),
 * `--capacity N` (64), `--windows 1,64`, `--out FILE` (docs/BENCHMARKS.md), `--no-write` (print only).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, platform, release } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

import { killAll, killAllOnExit } from "./processes.js";
import {
  type BenchSettings,
  benchmarksMarkdown,
  compare,
  cpuTable,
  type MachineFacts,
  resultsTable,
  verdicts,
} from "./report.js";
import { type BenchSystem, type RunResult, startAnchor, startCluster } from "./systems.js";

const WINDOWS_DEFAULT: readonly number[] = [1, 64];
const DOCS_PATH = fileURLToPath(new URL("../../../docs/BENCHMARKS.md", import.meta.url));

/**
 * What limits throughput, from profiling this code (`node --cpu-prof` on each daemon, and the CPU
 * table above); kept by hand because it explains the numbers rather than measuring them.
 */
const ANALYSIS = `### What limits throughput

Both systems are CPU-bound at window 64: the two cores are busy with 6 processes each, so throughput is
roughly the inverse of the CPU time per task summed over all processes (the total column).

- **Datagrams, not JavaScript, were the larger cost.** Profiling the dispatcher at window 64 before batching
  (\`node --cpu-prof\` via \`BENCH_NODE_ARGS\`), \`dgram\` \`doSend\` (the send system call, which on loopback also
  delivers to and wakes the receiver) took 44% of its busy time, decode 15% and encode 11%. The anchor sends one
  datagram per hop, as the cluster did: four per task.
- **Batch frames.** A daemon now sends the first packet for a peer in an event-loop turn at once and coalesces
  the rest of that turn into one \`batch\` datagram (docs/PROTOCOL.md section 1.1). Under a window of 64 a
  process handles many datagrams per wake-up (strace: about 27 per \`epoll_pwait\` in the dispatcher), so a
  task now costs well under one datagram per hop. Window 64 went from 0.50x the anchor's throughput (3 runs,
  same machine, same day) to the figure in the table; its CPU per task fell from 261 to 146-212 µs in the runs of the same day.
- **Window 1 gains nothing from batching** (one packet per turn, sent at once as before). Its cost is the
  code each hop runs, in 6 processes that each go back to sleep between packets: measured CPU per task is
  2.4-2.8x the anchor's, and the p50 about 2x.
- **Allocation and garbage collection** (\`node --trace-gc-nvp\` on every process of both systems, window 1,
  after the usual window-64 warm-up): the dispatcher allocates 28-31 KB of heap per task against the relay's
  5.4 KB, the client about 14 KB against the anchor load's 5.2 KB, a calculator about 17 KB per task it runs
  against an anchor worker's 4.7 KB. A sampling heap profile of the dispatcher (collected objects included)
  puts half of it in the codec and a third in zod alone: every packet in and out is validated, which
  builds a fresh object plus per-field bookkeeping. The cluster's caches (recent results, answered ids) survive the warm-up's
  collections, so V8 grows each daemon's young generation to 16 MB, and on this VM a scavenge costs about
  0.3 ms per MB allocated in both systems: the cluster's processes pause 2-8 ms about 40 times per 5 000
  tasks (about 30 µs of pause per task), the anchor's, whose young generation stays at 1-2 MB, 0.4-0.5 ms
  (7 µs per task).
- **GC is one source of the window-1 tail, not all of it.** Capping every cluster process's young
  generation at 1 MB (\`--max-semi-space-size=1\`) turned those into about 230 pauses of 0.8 ms on average,
  none over 3.3 ms, without lowering the p99 (3.6 ms, same hour). Dropping the first second of each client
  run (JIT warm-up of a fresh process) moved the p99 by under 10%, and skipping the validation of our own
  outbound packets made no difference that stood out of the noise, so the house rule (validate outbound
  too) stays. The client's code is a visible share: a 30-line client speaking the same protocol
  without validation or bookkeeping, against the same dispatcher and calculators, gave 2.1-5.6x the
  anchor's p99 where \`run-client\` gave 3.1-6.2x in alternating runs. The rest is this 2-vCPU VM: single
  runs of the same build range from 2.1x to 6.6x the anchor's p99, the anchor's own p99 moves by 2x between
  runs, and the machine's speed by 2x within an hour.
- Cores tick only when something is due (\`nextDeadlineMs()\`, one timer per process, spaced at least
  \`tickMs\` apart, plus a 250 ms safety tick): idle, a dispatcher and 4 calculators use about 2% of a core.
- Compare systems within one session, where runs alternate; across sessions this machine's speed varies by
  up to 2x (see the runs column).

Next levers for window 1, in order: validation that does not copy (checked against the same zod schemas,
which stay the only definition of the wire), fewer objects per event in the cores and the client (output
arrays, records, a 40 000-entry duplicate cache), a \`lookup\` for dgram that skips \`dns.lookup\` for IP
literals, and fewer processes woken per task.`;

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
}

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
  };
  const numberAfter = (index: number, flag: string): number => {
    const value = Number(argv[index + 1]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} expects a positive number`);
    return value;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === "--no-write") options.shouldWrite = false;
    else if (flag === "--out") options.outPath = argv[++i] ?? options.outPath;
    else if (flag === "--repetitions") options.repetitions = Math.round(numberAfter(i++, flag));
    else if (flag === "--duration-s") options.durationS = numberAfter(i++, flag);
    else if (flag === "--warmup-s") options.warmupS = numberAfter(i++, flag);
    else if (flag === "--window-warmup-s") options.windowWarmupS = numberAfter(i++, flag);
    else if (flag === "--latency-warmup-s") options.latencyWarmupS = numberAfter(i++, flag);
    else if (flag === "--workers") options.workerCount = Math.round(numberAfter(i++, flag));
    else if (flag === "--capacity") options.capacity = Math.round(numberAfter(i++, flag));
    else if (flag === "--windows") options.windows = parseWindows(argv[++i]);
    else throw new Error(`unknown flag ${flag}`);
  }
  return options;
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
      for (const system of systems) await warmUp(system, window, options.windowWarmupS);
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
    if (options.shouldWrite) {
      mkdirSync(dirname(options.outPath), { recursive: true });
      writeFileSync(options.outPath, benchmarksMarkdown(machineFacts(), settings, comparisons, ANALYSIS));
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
    await runBench(parseArgs(argv));
  } catch (error) {
    console.error(`bench failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}

main(process.argv.slice(2));
