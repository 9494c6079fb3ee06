/**
 * Helpers for end-to-end tests: start the real binaries (from dist/, built by `npm ci`/`npm run
 * build`) on 127.0.0.1 with port 0, wait on their JSON log lines with a bound, and stop every
 * process by PID after each test.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type Child, type LogLine, PACKAGE_ROOT, spawnChild, stopChildren } from "../../src/cluster/children.js";

export type { Child, LogLine };

/** Processes started by the current test; stopped by stopAll(). */
const started: Child[] = [];

/** A fresh temp dir for one test's logs and files. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "udp-cluster-e2e-"));
}

/** Fails clearly when dist/ is missing (run `npm run build`). */
export function requireBuild(): void {
  if (!existsSync(join(PACKAGE_ROOT, "dist", "src", "cli", "dispatcher.js"))) {
    throw new Error("dist/ is missing: run `npm run build` before the e2e tests");
  }
}

/** Starts bin/<bin> with `args`, logging JSON to `<dir>/<name>.log`. */
export function start(dir: string, name: string, bin: string, args: readonly string[]): Child {
  const child = spawnChild({ name, bin, args: [...args, "--json-logs"], logPath: join(dir, `${name}.log`) });
  started.push(child);
  return child;
}

/** Starts a dispatcher on 127.0.0.1:port (0 = any) and resolves its bound port. */
export async function startDispatcher(
  dir: string,
  args: readonly string[] = [],
  port = 0,
): Promise<{ child: Child; port: number }> {
  const child = start(dir, `dispatcher-${started.length}`, "run-dispatcher", [
    "--listen",
    `127.0.0.1:${port}`,
    // Admin HTTP on a free port: tests run dispatchers in parallel (a test may override it in args).
    "--admin",
    "127.0.0.1:0",
    ...args,
  ]);
  const line = await child.waitForLog((l) => l.msg === "dispatcher started", 30_000);
  return { child, port: Number(line["port"]) };
}

/** Starts a calculator registered with the dispatcher on `port`. */
export function startCalculator(dir: string, id: string, port: number, args: readonly string[] = []): Child {
  return start(dir, id, "run-calculator", [
    "--id",
    id,
    "--listen",
    "127.0.0.1:0",
    "--dispatcher",
    `127.0.0.1:${port}`,
    "--failure-probability",
    "0",
    ...args,
  ]);
}

/** Resolves when `child` logged a line whose msg is `msg` (and matching `extra`, if given). */
export function waitForMsg(
  child: Child,
  msg: string,
  timeoutMs: number,
  extra?: (line: LogLine) => boolean,
): Promise<LogLine> {
  return child.waitForLog((line) => line.msg === msg && (extra === undefined || extra(line)), timeoutMs);
}

/** Stops every process started by this test (SIGTERM, SIGKILL after 3 s). */
export async function stopAll(): Promise<void> {
  const children = started.splice(0);
  await stopChildren(children, 3_000);
}

/** Runs a short-lived binary to completion; resolves with exit code, stdout and stderr. */
export async function runToEnd(
  bin: string,
  args: readonly string[],
  timeoutMs = 15_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { spawn } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, "bin", bin), ...args], { cwd: PACKAGE_ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${bin} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}
