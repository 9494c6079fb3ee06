/**
 * Child processes of run-cluster: spawned with node from this package's bin/, stderr captured to a
 * log file (and scanned for JSON log lines we wait on), and always stopped by PID.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { assert } from "../runtime/assert.js";

/** The package root: the nearest folder above this file that holds bin/run-cluster (works from src/ and dist/). */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  let dir = start;
  for (let depth = 0; depth < 8; depth += 1) {
    if (existsSync(join(dir, "bin", "run-cluster")) && existsSync(join(dir, "package.json"))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`cannot find the udp-cluster package root above ${start}`);
}

/** One JSON log line of a child. */
export type LogLine = Record<string, unknown> & { msg?: string };

/** A started child. */
export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or 1 on a signal) when the child ends. */
  readonly exited: Promise<number>;
  /** Resolves with the first JSON log line matching `predicate`, or rejects after `timeoutMs`. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine>;
  /** Calls `listener` with every JSON log line from now on. */
  onLog(listener: (line: LogLine) => void): void;
}

/** How to start a child. */
export interface SpawnOptions {
  readonly name: string;
  readonly bin: string;
  readonly args: readonly string[];
  readonly logPath: string;
  /** Inherit stdout/stderr instead of logging to a file (the client, whose table we show). */
  readonly isForeground?: boolean;
  /**
   * A command that runs node for us, e.g. `["ip", "netns", "exec", "ns1"]` (the multi-host test); it
   * must exec node in place so the PID stays the daemon's. Absent: node is started directly.
   */
  readonly prefix?: readonly string[];
}

/** Starts `bin/<bin>` with node; a detached process group so a terminal Ctrl-C reaches only us. */
export function spawnChild(options: SpawnOptions): Child {
  const script = join(PACKAGE_ROOT, "bin", options.bin);
  const [command, ...prefixArgs] = [...(options.prefix ?? []), process.execPath];
  const child = spawn(command as string, [...prefixArgs, script, ...options.args], {
    cwd: PACKAGE_ROOT,
    detached: true,
    stdio: options.isForeground ? ["ignore", "inherit", "inherit"] : ["ignore", "ignore", "pipe"],
  });
  assert(child.pid !== undefined, `could not start ${options.bin}`);
  const waiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  /** BOUNDED: the launcher adds a fixed few. */
  const listeners: ((line: LogLine) => void)[] = [];
  if (!options.isForeground && child.stderr !== null) {
    const log = createWriteStream(options.logPath, { flags: "a" });
    let buffered = "";
    child.stderr.on("data", (chunk: Buffer) => {
      log.write(chunk);
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const text of lines) dispatchLine(text, waiters, listeners);
    });
    child.stderr.on("end", () => log.end());
  }
  const exited = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
  return {
    name: options.name,
    process: child,
    pid: child.pid,
    exited,
    onLog(listener) {
      listeners.push(listener);
    },
    waitForLog(predicate, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${options.name}: no matching log line within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          predicate,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}

function dispatchLine(
  text: string,
  waiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[],
  listeners: readonly ((line: LogLine) => void)[],
): void {
  if (!text.startsWith("{")) return;
  let line: LogLine;
  try {
    line = JSON.parse(text) as LogLine;
  } catch {
    return;
  }
  for (const listener of listeners) listener(line);
  for (let i = waiters.length - 1; i >= 0; i -= 1) {
    const waiter = waiters[i];
    if (waiter?.predicate(line)) {
      waiters.splice(i, 1);
      waiter.resolve(line);
    }
  }
}

/** Sends `signal` to the child by PID; a child that is already gone is fine. */
export function signalChild(child: Child, signal: NodeJS.Signals): void {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    // already exited
  }
}

/** SIGTERM, then SIGKILL after `graceMs` for any child still running; resolves when all are gone. */
export async function stopChildren(children: readonly Child[], graceMs: number): Promise<void> {
  for (const child of children) signalChild(child, "SIGTERM");
  const killTimer = setTimeout(() => {
    for (const child of children) signalChild(child, "SIGKILL");
  }, graceMs);
  await Promise.all(children.map((child) => child.exited));
  clearTimeout(killTimer);
}
