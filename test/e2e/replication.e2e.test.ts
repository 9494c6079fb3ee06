/**
 * Goal: replicated execution works with the real binaries (SPEC 9): with factor 3 / quorum 2 and one
 * of three calculators always wrong (corruption.probability 1), every task succeeds and none is
 * wrong; with two of three always wrong, each in its own way, no wrong answer is ever final: every
 * task is either correct or failed `no_quorum`.
 * Method: a dispatcher with a replication config file, three calculators on 127.0.0.1 port 0 (the
 * corrupt ones with --corruption-probability 1), a client with --count; its --stats-json and
 * --results files and the dispatcher's counters at SIGTERM are checked. No sleeps: waits on log lines.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { requireBuild, start, startCalculator, startDispatcher, stopAll, tempDir, waitForMsg } from "./harness.js";

const E2E_TIMEOUT_MS = 40_000;
const TASKS = 24;

async function replicatedCluster(corrupt: readonly string[]) {
  const dir = tempDir();
  const config = join(dir, "dispatcher.json");
  writeFileSync(config, JSON.stringify({ replication: { factor: 3, quorum: 2, maxCopies: 6 } }));
  const { child: dispatcher, port } = await startDispatcher(dir, ["-c", config]);
  const registered = ["calc-a", "calc-b", "calc-c"].map((id) => {
    const isCorrupt = corrupt.includes(id);
    const args = ["--compute-ms", "5,30", "--capacity", "4", "--corruption-probability", isCorrupt ? "1" : "0"];
    startCalculator(dir, id, port, args);
    return waitForMsg(dispatcher, "calculator registered", 10_000, (l) => l["calculatorId"] === id);
  });
  await Promise.all(registered);
  const client = start(dir, "client", "run-client", [
    "--dispatcher",
    `127.0.0.1:${port}`,
    "--count",
    String(TASKS),
    "--concurrency",
    "4",
    "--stats-json",
    join(dir, "stats.json"),
    "--results",
    join(dir, "results.jsonl"),
  ]);
  expect(await client.exited).toBe(0);
  const stats = JSON.parse(readFileSync(join(dir, "stats.json"), "utf8"));
  const lines = readFileSync(join(dir, "results.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  const stopped = waitForMsg(dispatcher, "dispatcher stopped", 10_000);
  process.kill(dispatcher.pid, "SIGTERM");
  const counters = (await stopped)["counters"] as Record<string, number>;
  return { stats, lines, counters };
}

beforeAll(requireBuild);
afterEach(stopAll);

describe("replication end to end (factor 3, quorum 2)", () => {
  it(
    "one always-wrong calculator of three: every task succeeds, none wrong, losers cancelled",
    async () => {
      const { stats, lines, counters } = await replicatedCluster(["calc-c"]);
      expect(stats).toMatchObject({ sent: TASKS, received: TASKS, succeeded: TASKS, failed: 0, wrong: 0 });
      expect(lines.every((line) => line.outcome === "ok")).toBe(true);
      expect(counters["copy_started.primary"]).toBe(TASKS);
      expect(counters["copy_started.replica"]).toBeGreaterThanOrEqual(2 * TASKS);
      expect(counters["copy_cancelled"] ?? 0).toBeGreaterThan(0);
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "two always-wrong calculators of three, each wrong in its own way: each task correct or failed no_quorum",
    async () => {
      const { stats, lines, counters } = await replicatedCluster(["calc-b", "calc-c"]);
      expect(stats).toMatchObject({ sent: TASKS, received: TASKS, wrong: 0, unanswered: 0 });
      for (const line of lines) {
        if (line.outcome !== "ok") expect(line).toMatchObject({ outcome: "failed", reason: "no_quorum" });
      }
      expect(counters["task_failed.no_quorum"]).toBe(stats.failed);
      expect(stats.failed).toBeGreaterThan(0);
    },
    E2E_TIMEOUT_MS,
  );
});
