/**
 * Goal: the real binaries keep SPEC section 5's promises on loopback: a full run answers every
 * task; a calculator killed with -9 or frozen with SIGSTOP mid-task does not lose it; a client that
 * starts before any calculator is served once one registers; a dispatcher killed with -9 and started
 * again on the same port loses no task of a running client.
 * Method: real processes on 127.0.0.1 (port 0 except the restart), waits on JSON log lines with a
 * bound (no sleeps), every process stopped by PID after each test.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  type Child,
  type LogLine,
  requireBuild,
  start,
  startCalculator,
  startDispatcher,
  stopAll,
  tempDir,
  waitForMsg,
} from "./harness.js";

const E2E_TIMEOUT_MS = 40_000;

interface Stats {
  sent: number;
  received: number;
  succeeded: number;
  failed: number;
  unanswered: number;
  wrong: number;
  latencyMs: { min: number; max: number; p99: number };
}

function readStats(dir: string): Stats {
  return JSON.parse(readFileSync(join(dir, "stats.json"), "utf8")) as Stats;
}

function calculatorSettings(dir: string, computeMs: number): string {
  const path = join(dir, "calculator.json");
  writeFileSync(
    path,
    JSON.stringify({ capacity: 1, computeMs: { min: computeMs, max: computeMs }, heartbeatIntervalMs: 100 }),
  );
  return path;
}

function clientArgs(dir: string, port: number, extra: readonly string[]): string[] {
  const settings = join(dir, "client.json");
  writeFileSync(
    settings,
    JSON.stringify({ submitRetryMs: [100, 200, 400], keepaliveMs: 300, intervalMs: { min: 5, max: 20 } }),
  );
  return [
    "-s",
    settings,
    "--dispatcher",
    `127.0.0.1:${port}`,
    "--stats-json",
    join(dir, "stats.json"),
    "--results",
    join(dir, "results.jsonl"),
    ...extra,
  ];
}

/** A dispatcher, calc-a and a one-task client, returned once calc-a has started that task. */
async function oneTaskRunningOnCalcA(
  computeMs: number,
): Promise<{ dir: string; dispatcher: Child; port: number; calcA: Child; client: Child; settings: string }> {
  const dir = tempDir();
  const { child: dispatcher, port } = await startDispatcher(dir, [
    "--heartbeat-timeout-ms",
    "500",
    "--task-timeout-ms",
    "30000",
  ]);
  const settings = calculatorSettings(dir, computeMs);
  const calcA = startCalculator(dir, "calc-a", port, ["-s", settings, "--log-level", "debug"]);
  await waitForMsg(dispatcher, "calculator registered", 10_000, (l) => l["calculatorId"] === "calc-a");
  const client = start(dir, "client", "run-client", clientArgs(dir, port, ["--count", "1"]));
  await waitForMsg(calcA, "task started", 10_000);
  return { dir, dispatcher, port, calcA, client, settings };
}

const isCalcA = (line: LogLine): boolean => line["calculatorId"] === "calc-a";

beforeAll(requireBuild);
afterEach(stopAll);

describe("end to end on 127.0.0.1", () => {
  it(
    "a full run answers every task correctly and writes --results and --stats-json",
    async () => {
      const dir = tempDir();
      const { port, child: dispatcher } = await startDispatcher(dir);
      startCalculator(dir, "calc-a", port, ["--compute-ms", "5,40", "--capacity", "4"]);
      startCalculator(dir, "calc-b", port, ["--compute-ms", "5,40", "--capacity", "4"]);
      const client = start(dir, "client", "run-client", clientArgs(dir, port, ["--count", "40", "--concurrency", "8"]));
      expect(await client.exited).toBe(0);
      expect(readStats(dir)).toMatchObject({
        sent: 40,
        received: 40,
        succeeded: 40,
        failed: 0,
        unanswered: 0,
        wrong: 0,
      });
      const lines = readFileSync(join(dir, "results.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(40);
      expect(new Set(lines.map((l) => l.id)).size).toBe(40);
      for (const line of lines) expect(line).toMatchObject({ outcome: "ok", rounds: 1, reason: null });
      // The client's first window arrives as one frame, so the dispatcher has bursts to coalesce too.
      const stopped = waitForMsg(dispatcher, "dispatcher stopped", 10_000);
      process.kill(dispatcher.pid, "SIGTERM");
      const counters = (await stopped)["counters"] as Record<string, number>;
      expect(counters["batch_frames_sent"]).toBeGreaterThan(0);
      expect(counters["datagrams_sent"]).toBeLessThan(counters["packets_sent"] ?? 0);
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "--warmup-s leaves the tasks of the warm-up out of the latency statistics and in every count",
    async () => {
      const dir = tempDir();
      const { port } = await startDispatcher(dir);
      startCalculator(dir, "calc-a", port, ["--compute-ms", "1,5", "--capacity", "4"]);
      const args = clientArgs(dir, port, ["--count", "6", "--concurrency", "2", "--warmup-s", "3600"]);
      const client = start(dir, "client", "run-client", args);
      expect(await client.exited).toBe(0);
      const stats = readStats(dir);
      expect(stats).toMatchObject({ sent: 6, received: 6, succeeded: 6 });
      expect(stats.latencyMs).toMatchObject({ min: 0, max: 0, p99: 0 });
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "kill -9 of a calculator mid-task: the dispatcher declares it dead and the task completes elsewhere",
    async () => {
      const { dir, dispatcher, port, calcA, client, settings } = await oneTaskRunningOnCalcA(1_500);
      process.kill(calcA.pid, "SIGKILL");
      const dead = waitForMsg(dispatcher, "calculator silent: declared dead", 10_000, isCalcA);
      startCalculator(dir, "calc-b", port, ["-s", settings]);
      await dead;
      expect(await client.exited).toBe(0);
      expect(readStats(dir)).toMatchObject({ sent: 1, succeeded: 1, unanswered: 0 });
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "SIGSTOP then SIGCONT of a calculator mid-task: declared dead, re-placed, back with the same identity",
    async () => {
      const { dir, dispatcher, port, calcA, client, settings } = await oneTaskRunningOnCalcA(1_200);
      process.kill(calcA.pid, "SIGSTOP");
      await waitForMsg(dispatcher, "calculator silent: declared dead", 10_000, isCalcA);
      startCalculator(dir, "calc-b", port, ["-s", settings]);
      const back = waitForMsg(dispatcher, "calculator back", 10_000, isCalcA);
      process.kill(calcA.pid, "SIGCONT");
      await back;
      expect(await client.exited).toBe(0);
      expect(readStats(dir)).toMatchObject({ sent: 1, succeeded: 1, failed: 0, unanswered: 0 });
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "a client started before any calculator is served once one registers",
    async () => {
      const dir = tempDir();
      const { port } = await startDispatcher(dir);
      const client = start(dir, "client", "run-client", [
        ...clientArgs(dir, port, ["--count", "3"]),
        "--log-level",
        "debug",
      ]);
      await waitForMsg(client, "task sent", 10_000);
      startCalculator(dir, "calc-late", port, ["--compute-ms", "10,20"]);
      expect(await client.exited).toBe(0);
      expect(readStats(dir)).toMatchObject({ sent: 3, succeeded: 3, unanswered: 0 });
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "kill -9 of the dispatcher and a restart on the same port loses no task of the running client",
    async () => {
      const dir = tempDir();
      const first = await startDispatcher(dir);
      startCalculator(dir, "calc-a", first.port, ["-s", calculatorSettings(dir, 600)]);
      await waitForMsg(first.child, "calculator registered", 10_000);
      const client = start(dir, "client", "run-client", [
        ...clientArgs(dir, first.port, ["--count", "4", "--concurrency", "2"]),
        "--log-level",
        "debug",
      ]);
      await waitForMsg(client, "task sent", 10_000);
      process.kill(first.child.pid, "SIGKILL");
      await first.child.exited;
      const second = await startDispatcher(dir, [], first.port);
      await waitForMsg(second.child, "calculator registered", 10_000);
      expect(await client.exited).toBe(0);
      expect(readStats(dir)).toMatchObject({ sent: 4, succeeded: 4, failed: 0, unanswered: 0 });
    },
    E2E_TIMEOUT_MS,
  );
});
