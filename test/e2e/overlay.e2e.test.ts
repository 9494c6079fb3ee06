/**
 * Goal: a 7-node overlay of real calculator processes on 127.0.0.1 turns an unbalanced load into a
 * balanced one with no task lost (issue 4): the root takes a burst of tasks alone, the other nodes
 * join, `cluster rebalance` (relayed by the dispatcher) moves queued tasks to the ⌊share⌋/⌈share⌉
 * targets with 2(N−1) wave messages, the dispatcher follows every move (no re-placement), and every
 * task is answered correctly once. Without an overlay, `cluster rebalance` says so and exits 1.
 * `run-cluster --overlay config/overlay/tree-7.json` with its defaults builds uneven queues, prints
 * rounds that move tasks, each with the root's own wave message count (12 = 2(N-1) on this tree).
 * Method: real processes (ports picked on 127.0.0.1), waits on JSON log lines with a bound, every
 * process stopped by PID after the test. Tasks take 1.5-2 s, so the root's queued burst (>= 30 tasks
 * on 2 slots) lasts over 20 s: starting six processes and asking for a round on a loaded machine
 * cannot drain it first (with 0.2-0.3 s tasks it could: "movedCount 0").
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
    const { child: dispatcher, port } = await startDispatcher(dir, [
      "--task-timeout-ms",
      "120000",
      "--queue-timeout-ms",
      "120000",
    ]);
    const settings = {
      computeMs: { min: 1_500, max: 2_000 },
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
    await waitForMsg(root, "task queued", 30_000, (line) => Number(line["queuedCount"]) >= 30);
    const others = waitForRegistrations(dispatcher, topology.size - 1, 30_000);
    for (let i = 0; i < topology.size; i += 1) if (i !== topology.root) node(i, "info");
    expect(await others).toBe(topology.size - 1);

    const { code, stdout, stderr } = await runToEnd(
      "cluster",
      ["rebalance", "--dispatcher", `127.0.0.1:${port}`, "--json"],
      30_000,
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
    // Moves never overshoot: a giver ends at or above ⌊share⌋, a receiver at or below ⌈share⌉. (A giver
    // may end above ⌈share⌉ when some of its queued tasks started between the echo and the order, more
    // likely on a loaded machine; it then offers fewer, and the next round plans from fresh loads.)
    for (const load of result.loads) {
      const share = (total * load.slots) / slotsSum;
      if (load.after < load.before)
        expect(load.after, `${load.id}: share ${share}`).toBeGreaterThanOrEqual(Math.floor(share));
      if (load.after > load.before)
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
  }, 150_000);

  it("run-cluster --overlay with its defaults prints rounds that move tasks, with the root's message count", async () => {
    const dir = tempDir();
    const args = ["--overlay", TOPOLOGY, "--duration-s", "10", "--failure-probability", "0", "--run-dir", dir];
    const { code, stderr } = await runToEnd("run-cluster", args, 120_000);
    expect(code, stderr).toBe(0);
    const lines = stderr.split("\n").filter((line) => line !== "");
    // Nothing glued: every line is a whole run-cluster line or a whole progress line.
    for (const line of lines) expect(line, line).toMatch(/^(run-cluster: |progress: )/);
    expect(stderr).toMatch(/the client keeps 24 tasks outstanding \(2 per slot of 12\)/);
    const rounds = lines.filter((line) => /^run-cluster: round \d+: /.test(line));
    expect(rounds.length).toBeGreaterThan(0);
    const rootLines = readFileSync(join(dir, "node-a.log"), "utf8")
      .split("\n")
      .filter((text) => text.startsWith("{"))
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .filter((line) => line["msg"] === "rebalance round");
    // Every printed round carries the count the root logged for it (the root's line is whole).
    for (const printed of rounds) {
      const round = Number(/^run-cluster: round (\d+):/.exec(printed)?.[1]);
      const line = rootLines.find((root) => root["round"] === round);
      if (line === undefined) continue; // a timed-out round: logged at warn, checked below by its status
      expect(printed).toContain(`, ${String(line["waveMessages"])} wave messages,`);
      if (line["reachedCount"] === 7) expect(line["waveMessages"]).toBe(12);
    }
    expect(rounds.filter((printed) => printed.includes(": done, 7/7 nodes, 12 wave messages,")).length).toBeGreaterThan(
      0,
    );
    const moved = rounds.map((line) => Number(/, (\d+) tasks moved;/.exec(line)?.[1] ?? 0));
    expect(Math.max(...moved)).toBeGreaterThan(0);
    // Uneven queues: some round found queues that differ by more than one task.
    const spreads = rounds.map((line) => {
      const before = /queued before \[([^\]]*)\]/.exec(line)?.[1] ?? "";
      const counts = before.split(" ").map((pair) => Number(pair.split(":")[1] ?? 0));
      return Math.max(...counts) - Math.min(...counts);
    });
    expect(Math.max(...spreads)).toBeGreaterThan(1);
  }, 150_000);

  it("without an overlay, cluster rebalance says so and exits 1", async () => {
    const { port } = await startDispatcher(tempDir());
    const { code, stdout } = await runToEnd("cluster", ["rebalance", "--dispatcher", `127.0.0.1:${port}`]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/no overlay/);
  }, 45_000); // generous: a loaded host once took over 10 s to start the dispatcher
});
