/**
 * The two systems the benchmark compares, each as real processes on 127.0.0.1 with port 0: the
 * cluster (one dispatcher, N calculators, a run-client per measurement) and the raw anchor (one
 * relay, N workers, an anchor load process per measurement). A system measures one closed-loop run
 * and reports throughput, latency and the CPU time each role spent on it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import type { AnchorStats } from "./anchor.js";
import { type BenchProcess, cpuTimeMs, type LogLine, startNode, trackCpuTime } from "./processes.js";

/** The repository root (this file runs from dist/src/bench/). */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const ANCHOR_SCRIPT = fileURLToPath(new URL("./anchor.js", import.meta.url));
const READY_TIMEOUT_MS = 10_000;

/** Settings of one benchmark session. */
export interface SystemOptions {
  readonly workerCount: number;
  /** Dispatcher journal file (bench of the journal); absent = no journal. */
  readonly journalPath?: string;
  /** Key file every process of the cluster uses (bench of authentication); absent = no auth. */
  readonly keyFile?: string;
  /** Parallel tasks per calculator. */
  readonly capacity: number;
}

/** One measured closed-loop run. */
export interface RunResult {
  readonly system: "cluster" | "anchor";
  readonly window: number;
  readonly received: number;
  /** Tasks without an answer at the end (cluster: unanswered; anchor: lost). */
  readonly missing: number;
  readonly durationS: number;
  readonly tasksPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time per answered task, in µs: the load process, the hub (dispatcher or relay), all workers. */
  readonly cpuUsPerTask: { readonly load: number; readonly hub: number; readonly workers: number };
}

/** A started system: measure() runs one closed loop; stop() ends every process by PID. */
export interface BenchSystem {
  readonly name: "cluster" | "anchor";
  /** Runs a closed loop of `window` for `durationS`; tasks sent in its first `warmupS` count for throughput, not latency. */
  measure(window: number, durationS: number, warmupS: number): Promise<RunResult>;
  stop(): Promise<void>;
  /** After stop(), a journaled cluster's "journal stopped" log line (commit counts and latency). */
  journalReport?(): LogLine | undefined;
}

const hasMsg =
  (msg: string) =>
  (line: LogLine): boolean =>
    line["msg"] === msg;

function portOf(line: LogLine, what: string): number {
  const port = line["port"];
  if (typeof port !== "number" || port <= 0) throw new Error(`${what} logged no port`);
  return port;
}

/** CPU ms of several long-lived processes together (0 for those /proc cannot tell). */
function cpuSumMs(processes: readonly BenchProcess[]): number {
  return processes.reduce((sum, child) => sum + (cpuTimeMs(child.pid) ?? 0), 0);
}

async function stopAll(processes: readonly BenchProcess[]): Promise<void> {
  await Promise.all(processes.map((child) => child.stop()));
}

function perTaskUs(cpuMs: number, received: number): number {
  return received > 0 ? Math.round((cpuMs * 1_000) / received) : 0;
}

/** Starts a dispatcher and `workerCount` calculators with zero compute time and no emulated failures. */
export async function startCluster(options: SystemOptions): Promise<BenchSystem> {
  const dir = mkdtempSync(join(tmpdir(), "udp-cluster-bench-"));
  const configPath = join(dir, "dispatcher.json");
  // Port 0 everywhere: the benchmark must not collide with a cluster already running on this machine.
  const config = {
    listen: { host: "127.0.0.1", port: 0 },
    admin: { host: "127.0.0.1", port: 0 },
    ...(options.journalPath === undefined ? {} : { journal: { path: options.journalPath, sync: "full" } }),
  };
  writeFileSync(configPath, JSON.stringify(config));
  const bin = (name: string): string => join(ROOT, "bin", name);
  const daemons: BenchProcess[] = [];
  let journalReport: LogLine | undefined;
  const stop = async (): Promise<void> => {
    const report =
      options.journalPath === undefined
        ? undefined
        : daemons[0]?.waitForLine(hasMsg("journal stopped"), READY_TIMEOUT_MS).catch(() => undefined);
    await stopAll(daemons);
    journalReport = await report;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const auth = options.keyFile === undefined ? [] : ["--key-file", options.keyFile];
    const dispatcher = startNode("dispatcher", bin("run-dispatcher"), ["--config", configPath, ...auth, "--json-logs"]);
    daemons.push(dispatcher);
    const port = portOf(await dispatcher.waitForLine(hasMsg("dispatcher started"), READY_TIMEOUT_MS), "dispatcher");
    let registeredCount = 0;
    const isLastRegistration = (line: LogLine): boolean => {
      if (line["msg"] !== "calculator registered") return false;
      registeredCount += 1;
      return registeredCount === options.workerCount;
    };
    const allRegistered = dispatcher.waitForLine(isLastRegistration, READY_TIMEOUT_MS);
    for (let i = 1; i <= options.workerCount; i += 1) {
      const args = ["--id", `bench-calc-${i}`, "--listen", "127.0.0.1:0", "--dispatcher", `127.0.0.1:${port}`];
      args.push("--compute-ms", "0,0", "--capacity", String(options.capacity), "--failure-probability", "0");
      daemons.push(startNode(`calculator-${i}`, bin("run-calculator"), [...args, ...auth, "--json-logs"]));
    }
    await allRegistered;
    const [hub, ...workers] = daemons as [BenchProcess, ...BenchProcess[]];
    const measure = async (window: number, durationS: number, warmupS: number): Promise<RunResult> => {
      const statsPath = join(dir, `stats-${window}.json`);
      const args = ["--dispatcher", `127.0.0.1:${port}`, "--concurrency", String(window)];
      args.push("--duration-s", String(durationS), "--warmup-s", String(warmupS));
      args.push("--stats-json", statsPath, "--quiet", ...auth, "--json-logs");
      const before = { hub: cpuSumMs([hub]), workers: cpuSumMs(workers) };
      const client = startNode("run-client", bin("run-client"), args);
      const clientCpu = trackCpuTime(client.pid);
      const code = await client.exited;
      clientCpu.stop();
      if (code !== 0) throw new Error(`run-client exited with code ${code}`);
      const stats = JSON.parse(readFileSync(statsPath, "utf8")) as {
        received: number;
        unanswered: number;
        durationS: number;
        latencyMs: { p50: number; p99: number };
      };
      return {
        system: "cluster",
        window,
        received: stats.received,
        missing: stats.unanswered,
        durationS: stats.durationS,
        tasksPerS: stats.received / stats.durationS,
        p50Ms: stats.latencyMs.p50,
        p99Ms: stats.latencyMs.p99,
        cpuUsPerTask: {
          load: perTaskUs(clientCpu.lastMs() ?? 0, stats.received),
          hub: perTaskUs(cpuSumMs([hub]) - before.hub, stats.received),
          workers: perTaskUs(cpuSumMs(workers) - before.workers, stats.received),
        },
      };
    };
    return { name: "cluster", measure, stop, journalReport: () => journalReport };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts the anchor's relay and `workerCount` workers. */
export async function startAnchor(options: SystemOptions): Promise<BenchSystem> {
  const daemons: BenchProcess[] = [];
  const stop = (): Promise<void> => stopAll(daemons);
  try {
    const relay = startNode("anchor-relay", ANCHOR_SCRIPT, ["relay"]);
    daemons.push(relay);
    const port = portOf(await relay.waitForLine(hasMsg("relay started"), READY_TIMEOUT_MS), "anchor relay");
    const workers: BenchProcess[] = [];
    for (let i = 1; i <= options.workerCount; i += 1) {
      const worker = startNode(`anchor-worker-${i}`, ANCHOR_SCRIPT, ["worker", String(port)]);
      daemons.push(worker);
      workers.push(worker);
      // One at a time: the relay's round-robin list is then in a known order.
      await worker.waitForLine(hasMsg("worker registered"), READY_TIMEOUT_MS);
    }
    const measure = async (window: number, durationS: number, warmupS: number): Promise<RunResult> => {
      const before = { hub: cpuSumMs([relay]), workers: cpuSumMs(workers) };
      const load = startNode("anchor-load", ANCHOR_SCRIPT, [
        "load",
        String(port),
        String(window),
        String(durationS),
        String(warmupS),
      ]);
      const code = await load.exited;
      if (code !== 0) throw new Error(`anchor load exited with code ${code}`);
      const stats = JSON.parse(load.stdout()) as AnchorStats;
      return {
        system: "anchor",
        window,
        received: stats.received,
        missing: stats.lost,
        durationS: stats.durationS,
        tasksPerS: stats.received / stats.durationS,
        p50Ms: stats.latencyMs.p50,
        p99Ms: stats.latencyMs.p99,
        cpuUsPerTask: {
          load: perTaskUs(stats.cpuMs, stats.received),
          hub: perTaskUs(cpuSumMs([relay]) - before.hub, stats.received),
          workers: perTaskUs(cpuSumMs(workers) - before.workers, stats.received),
        },
      };
    };
    return { name: "anchor", measure, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
