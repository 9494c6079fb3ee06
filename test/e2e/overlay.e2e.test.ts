/**
 * Goal: a 7-node overlay of real calculator processes on 127.0.0.1 turns an unbalanced load into a
 * balanced one with no task lost (issue 4): the root takes a burst of tasks alone, the other nodes
 * join, `cluster rebalance` (relayed by the dispatcher) moves queued tasks to the ⌊share⌋/⌈share⌉
 * targets with 2(N−1) wave messages, the dispatcher follows every move (no re-placement), and every
 * task is answered correctly once. Without an overlay, `cluster rebalance` says so and exits 1.
 * Method: real processes (ports picked on 127.0.0.1), waits on JSON log lines with a bound, every
 * process stopped by PID after the test.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { waitForRegistrations } from "../../src/cluster/local-cluster.js";
import { freePorts, writeNodeConfigs } from "../../src/cluster/overlay-cluster.js";
import { loadTopologyFile } from "../../src/overlay/files.js";
import { type Child, requireBuild, runToEnd, start, startDispatcher, stopAll, tempDir, waitForMsg } from "./harness.js";

const TOPOLOGY = join(import.meta.dirname, "..", "..", "config", "overlay", "tree-7.json");
const TASKS = 40;

beforeAll(requireBuild);
afterEach(stopAll);

function waveMessagesIn(dir: string, ids: readonly string[], waveId: number): number {
  let total = 0;
  for (const id of ids) {
    for (const text of readFileSync(join(dir, `node-${id}.log`), "utf8").split("\n")) {
      if (!text.startsWith("{")) continue;
      const line = JSON.parse(text) as { msg?: string; waveId?: number; messagesSent?: number };
      const isWaveLine = line.msg === "echo wave: my part done" || line.msg === "echo wave decided";
      if (isWaveLine && line.waveId === waveId) total += line.messagesSent ?? 0;
    }
  }
  return total;
}

describe("overlay of real processes", () => {
  it("cluster rebalance spreads the root's queued burst over 7 nodes and no task is lost", async () => {
    const dir = tempDir();
    const topology = loadTopologyFile(TOPOLOGY);
    const { child: dispatcher, port } = await startDispatcher(dir, ["--task-timeout-ms", "60000"]);
    const settings = {
      computeMs: { min: 200, max: 300 },
      failureProbability: 0,
      corruptionProbability: 0,
      queueMax: 200,
      rebalanceIntervalMs: 0,
    };
    const configs = writeNodeConfigs(dir, TOPOLOGY, topology, await freePorts(topology.size), settings);
    const node = (i: number, logLevel: string): Child =>
      start(dir, `node-${topology.ids[i]}`, "run-calculator", [
        "-s",
        configs[i] as string,
        "--dispatcher",
        `127.0.0.1:${port}`,
        "--log-level",
        logLevel,
      ]);
    const root = node(topology.root, "debug");
    await waitForMsg(dispatcher, "calculator registered", 10_000);
    const stats = join(dir, "stats.json");
    const client = start(dir, "client", "run-client", [
      "--dispatcher",
      `127.0.0.1:${port}`,
      "--count",
      String(TASKS),
      "--concurrency",
      String(TASKS),
      "--stats-json",
      stats,
    ]);
    await waitForMsg(root, "task queued", 15_000, (line) => Number(line["queuedCount"]) >= 30);
    const others = waitForRegistrations(dispatcher, topology.size - 1, 15_000);
    for (let i = 0; i < topology.size; i += 1) if (i !== topology.root) node(i, "info");
    expect(await others).toBe(topology.size - 1);

    const { code, stdout, stderr } = await runToEnd(
      "cluster",
      ["rebalance", "--dispatcher", `127.0.0.1:${port}`, "--json"],
      20_000,
    );
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as {
      status: string;
      reachedCount: number;
      movedCount: number;
      waveId: number;
      waveMessages: number;
      loads: { id: string; slots: number; before: number; after: number }[];
    };
    expect(result).toMatchObject({ status: "done", reachedCount: 7, waveMessages: 12 });
    expect(result.movedCount).toBeGreaterThan(0);
    const total = result.loads.reduce((sum, l) => sum + l.before, 0);
    const slotsSum = result.loads.reduce((sum, l) => sum + l.slots, 0);
    expect(result.loads.reduce((sum, l) => sum + l.after, 0)).toBe(total);
    for (const load of result.loads) {
      const share = (total * load.slots) / slotsSum;
      expect(load.after, `${load.id}: share ${share}`).toBeGreaterThanOrEqual(Math.floor(share));
      expect(load.after, `${load.id}: share ${share}`).toBeLessThanOrEqual(Math.ceil(share));
    }

    expect(await client.exited).toBe(0);
    expect(JSON.parse(readFileSync(stats, "utf8"))).toMatchObject({
      sent: TASKS,
      succeeded: TASKS,
      failed: 0,
      unanswered: 0,
      wrong: 0,
    });
    const stopped = waitForMsg(dispatcher, "dispatcher stopped", 10_000);
    process.kill(dispatcher.pid, "SIGTERM");
    const counters = (await stopped)["counters"] as Record<string, number>;
    expect(counters["task_moved"]).toBe(result.movedCount);
    expect(counters["task_replaced"]).toBeUndefined();
    await stopAll(); // flush the nodes' logs before reading them
    expect(waveMessagesIn(dir, topology.ids, result.waveId)).toBe(12);
  }, 60_000);

  it("without an overlay, cluster rebalance says so and exits 1", async () => {
    const { port } = await startDispatcher(tempDir());
    const { code, stdout } = await runToEnd("cluster", ["rebalance", "--dispatcher", `127.0.0.1:${port}`]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/no overlay/);
  }, 20_000);
});
