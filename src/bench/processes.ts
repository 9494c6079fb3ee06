/**
 * Child processes for the benchmark: spawn a node script, read its JSON log lines on stderr, wait for
 * a line, sample its CPU time from /proc, and stop it by PID. Every process started here is listed in
 * one registry so that an error, a signal or a normal exit stops all of them: a benchmark must never
 * leave daemons behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";

/** A JSON log line (pino) or the raw text when a line is not JSON. */
export type LogLine = Readonly<Record<string, unknown>>;

/** A running child process. */
export interface BenchProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the first stderr line matching `isMatch`; rejects after `timeoutMs` or on exit. */
  waitForLine(isMatch: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine>;
  /** Resolves with the exit code once the process has exited (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** All of stdout so far. */
  stdout(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** BOUNDED: the benchmark starts a fixed number of daemons plus one load process per run. */
const live = new Set<ChildProcess>();
/** BOUNDED: the last LINES_KEPT_MAX stderr lines per process, for error messages. */
const LINES_KEPT_MAX = 50;
const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux, fixed by the kernel ABI

/** Stops every process still running (synchronous, so it also works from an `exit` handler). */
export function killAll(): void {
  for (const child of live) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}

/** Installs handlers so that every child dies with the benchmark, also on SIGINT, SIGTERM and crashes. */
export function killAllOnExit(): void {
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/**
 * Extra node flags for every child, from `BENCH_NODE_ARGS` (space-separated), for profiling:
 * `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench` (node refuses --cpu-prof in
 * NODE_OPTIONS). Empty by default.
 */
const NODE_ARGS = (process.env["BENCH_NODE_ARGS"] ?? "").split(" ").filter((arg) => arg !== "");

/** Spawns `node script ...args` with stdin closed and stdout/stderr captured. */
export function startNode(name: string, script: string, args: readonly string[]): BenchProcess {
  const child = spawn(process.execPath, [...NODE_ARGS, script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
  live.add(child);
  const pid = child.pid;
  let stdoutText = "";
  let partial = "";
  const recent: string[] = [];
  const waiters = new Set<{ isMatch: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdoutText += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const text of lines) {
      recent.push(text);
      if (recent.length > LINES_KEPT_MAX) recent.shift();
      const line = parseLine(text);
      for (const waiter of waiters) {
        if (waiter.isMatch(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => {
      live.delete(child);
      resolve(code);
    });
  });
  return {
    name,
    pid,
    exited,
    stdout: () => stdoutText,
    waitForLine(isMatch, timeoutMs) {
      return new Promise((resolve, reject) => {
        const waiter = { isMatch, resolve: (line: LogLine) => finish(() => resolve(line)) };
        const timer = setTimeout(
          () => finish(() => reject(failure(`no matching log line in ${timeoutMs} ms`))),
          timeoutMs,
        );
        const finish = (then: () => void): void => {
          clearTimeout(timer);
          waiters.delete(waiter);
          then();
        };
        const failure = (why: string): Error => new Error(`${name} (pid ${pid}): ${why}\n${recent.join("\n")}`);
        waiters.add(waiter);
        exited.then((code) => finish(() => reject(failure(`exited with code ${code}`))));
      });
    },
    async stop(graceMs = 2_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(pid, "SIGTERM");
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, "SIGKILL");
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function parseLine(text: string): LogLine {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as LogLine;
  } catch {
    // not JSON: keep the raw text
  }
  return { text };
}

/** CPU time (user + system) a process has used so far, in ms; undefined when /proc is unavailable. */
export function cpuTimeMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1_000) / CLOCK_TICKS_PER_S : undefined;
  } catch {
    return undefined;
  }
}

/** Polls the CPU time of a short-lived process, keeping the last reading before it exits. */
export function trackCpuTime(pid: number, intervalMs = 50): { lastMs(): number | undefined; stop(): void } {
  let last = cpuTimeMs(pid);
  const timer = setInterval(() => {
    last = cpuTimeMs(pid) ?? last;
  }, intervalMs);
  return {
    lastMs: () => last,
    stop: () => clearInterval(timer),
  };
}
