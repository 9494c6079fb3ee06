/**
 * Goal: Finn spread in the daemons (SPEC section 7, issue 13 item 5). On the shipped DAG and tree
 * examples, `cluster spread` gives every live node its ⌊share⌋/⌈share⌉ by slots exactly once (each
 * node claims its range, the dispatcher assigns it), the wave costs E + N − 1 messages, every task runs
 * exactly once on the node that claimed it and `cluster result ID` returns its verified result. With a
 * node killed just before the wave (still believed alive) and another killed while running its share,
 * the wave times out, the dead node's share and that of the node that needed it as a parent are placed
 * by the dispatcher, the killed runner's tasks are re-placed, and still every task succeeds and none
 * finishes twice.
 * Method: real processes on 127.0.0.1 (ports picked free), `cluster spread --json --wait` run to the
 * end, the nodes' debug logs read back for `task finished` lines, every process stopped by PID.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { evaluateTask } from "../../src/calculator/evaluate.js";
import { spreadShares } from "../../src/overlay/spread-shares.js";
import { spreadTaskInput } from "../../src/protocol/spread-packets.js";
import { requireBuild, runToEnd, stopAll, tempDir, waitForMsg } from "./harness.js";
import { finishedByNode, runSpread, runsPerTask, startSpreadCluster } from "./spread-harness.js";

const CONFIG = join(import.meta.dirname, "..", "..", "config", "overlay");

beforeAll(requireBuild);
afterEach(stopAll);

/** Checks `cluster result ID` for a few of the batch's tasks (first, middle, last). */
async function checkResults(port: number, batchId: string, taskIds: readonly string[], rounds: number): Promise<void> {
  for (const index of [0, Math.floor(taskIds.length / 2), taskIds.length - 1]) {
    const args = ["result", taskIds[index] as string, "--dispatcher", `127.0.0.1:${port}`];
    const { code, stdout } = await runToEnd("cluster", args);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(evaluateTask(spreadTaskInput(batchId, index), rounds));
  }
}

describe("Finn spread over real overlay processes", () => {
  it.each(["dag-6.json", "tree-7.json"])(
    "%s: every node takes its share once, every task runs once",
    async (file) => {
      const dir = tempDir();
      const cluster = await startSpreadCluster(dir, join(CONFIG, file), {
        computeMs: { min: 50, max: 150 },
        waveTimeoutMs: 10_000,
      });
      const { topology, port } = cluster;
      const count = 60;
      const { code, output, stderr } = await runSpread(port, count, ["--rounds", "2", "--wait"], 60_000);
      expect(code, stderr).toBe(0);
      expect(output).toMatchObject({
        status: "done",
        count,
        nodeCount: topology.size,
        actedCount: topology.size,
        waveMessages: topology.edgeCount + topology.size - 1,
        claimedCount: count,
        replacedCount: 0,
        succeededCount: count,
        failedCount: 0,
      });
      const shares = spreadShares(topology.slots, count);
      expect(output.shares).toEqual(topology.ids.map((id, i) => ({ id, share: shares[i], claimed: shares[i] })));
      await checkResults(port, output.requestId, output.taskIds, 2);

      await stopAll(); // flush the logs
      const byNode = finishedByNode(dir, topology.ids);
      const runs = runsPerTask(byNode);
      expect([...runs.keys()].sort()).toEqual([...output.taskIds].sort());
      expect([...runs.values()].every((n) => n === 1)).toBe(true);
      // Each node ran exactly its own range of the batch.
      let first = 0;
      topology.ids.forEach((id, i) => {
        const share = shares[i] as number;
        expect(new Set(byNode.get(id)), id).toEqual(new Set(output.taskIds.slice(first, first + share)));
        first += share;
      });
    },
    90_000,
  );

  it("run-cluster --overlay FILE --spread N starts the overlay, spreads, prints the shares and writes the statistics", async () => {
    const dir = tempDir();
    const stats = join(dir, "stats.json");
    const args = ["--overlay", join(CONFIG, "dag-6.json"), "--spread", "12", "--compute-ms", "50,100"];
    const { code, stdout, stderr } = await runToEnd(
      "run-cluster",
      [...args, "--stats-json", stats, "--run-dir", dir],
      90_000,
    );
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/nodes acted {5}6\/6/);
    expect(stderr).toMatch(/wave messages {3}13/);
    expect(stdout).toMatch(/succeeded +12/);
    expect(JSON.parse(readFileSync(stats, "utf8"))).toMatchObject({
      sent: 12,
      succeeded: 12,
      failed: 0,
      wrong: 0,
      unanswered: 0,
    });
  }, 100_000);

  it("a node dead before the wave and a node killed while running its share: nothing lost, nothing twice", async () => {
    const dir = tempDir();
    const cluster = await startSpreadCluster(dir, join(CONFIG, "dag-6.json"), {
      computeMs: { min: 800, max: 1_200 },
      waveTimeoutMs: 3_000,
      dispatcherArgs: ["--heartbeat-timeout-ms", "6000", "--task-timeout-ms", "60000"],
    });
    const { topology, port, nodes } = cluster;
    // d dies before the wave but is still believed alive: it never acts, nor does f (d is f's parent).
    process.kill((nodes.get("d") as { pid: number }).pid, "SIGKILL");
    const e = nodes.get("e");
    if (e === undefined) throw new Error("no node e");
    const count = 45;
    const spread = runSpread(port, count, ["--wait", "--timeout-ms", "80000"], 90_000);
    // e claims its share, then dies while running it: the dispatcher re-places what it held.
    await waitForMsg(e, "spread share claimed", 20_000);
    await waitForMsg(e, "task started", 10_000);
    process.kill(e.pid, "SIGKILL");
    const { code, output, stderr } = await spread;
    expect(code, stderr).toBe(0);
    const shares = spreadShares(topology.slots, count);
    const shareOf = (id: string): number => shares[topology.mustIndexOf(id)] as number;
    expect(output).toMatchObject({ status: "timed_out", succeededCount: count, failedCount: 0 });
    expect(output.replacedCount).toBe(shareOf("d") + shareOf("f"));
    expect(output.claimedCount).toBe(count - output.replacedCount);
    for (const share of output.shares) {
      const expected = share.id === "d" || share.id === "f" ? 0 : share.share;
      expect(share.claimed, share.id).toBe(expected);
    }
    await checkResults(port, output.requestId, output.taskIds, 1);
    await stopAll();
    const runs = runsPerTask(finishedByNode(dir, topology.ids));
    expect([...runs.keys()].sort()).toEqual([...output.taskIds].sort());
    expect([...runs.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  }, 120_000);
});
