/**
 * Goal: Finn spread at scale with real processes (issue 13 item 6): a generated 50-node tree, one
 * calculator process per node on 127.0.0.1, spreads a batch while 5 nodes are killed in the middle of
 * the wave, restarts them, and checks that no task is lost (every one succeeds, `cluster result` works),
 * none runs twice (each finishes on exactly one node, over every life of every node), and the next
 * round is balanced again (all 50 nodes act, each runs exactly its ⌊share⌋/⌈share⌉ by slots).
 * Method: real processes; the nodes' debug logs read back for `task finished` lines; the wave's time
 * is taken from the root's log (start to done) and printed with its messages (docs/BENCHMARKS.md).
 * Every process stopped by PID.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { formatTopology, generateTopology } from "../../src/overlay/generate.js";
import { spreadShares } from "../../src/overlay/spread-shares.js";
import { requireBuild, runToEnd, stopAll, tempDir, waitForMsg } from "./harness.js";
import { finishedByNode, runSpread, runsPerTask, startSpreadCluster } from "./spread-harness.js";

const NODES = 50;
const KILLED = 5;

beforeAll(requireBuild);
afterEach(stopAll);

describe("Finn spread over a 50-node tree of real processes", () => {
  it("5 nodes killed mid-wave and restarted: nothing lost, nothing twice, the next round balanced", async () => {
    const dir = tempDir();
    const topologyPath = join(dir, "tree-50.json");
    writeFileSync(
      topologyPath,
      formatTopology(generateTopology({ kind: "tree", nodes: NODES, seed: 13, fanoutMax: 4 })),
    );
    const cluster = await startSpreadCluster(dir, topologyPath, {
      computeMs: { min: 200, max: 400 },
      waveTimeoutMs: 3_000,
      dispatcherArgs: ["--task-timeout-ms", "60000"],
      registerWaitMs: 90_000,
    });
    const { topology, port, nodes, dispatcher } = cluster;
    const root = nodes.get(topology.ids[topology.root] as string);
    if (root === undefined) throw new Error("no root");
    const victims = topology.ids.filter((_, i) => i !== topology.root && i % 10 === 7).slice(0, KILLED);
    expect(victims).toHaveLength(KILLED);

    // Round 1: kill the victims as soon as the root starts the wave.
    const victimIds = new Set(victims);
    let victimTasksReplaced = 0; // round-1 tasks a victim had claimed, re-placed by the dispatcher after its death
    dispatcher.onLog((line) => {
      if (line.msg === "task re-placed" && victimIds.has(String(line["calculatorId"]))) victimTasksReplaced += 1;
    });
    const first = runSpread(port, 400, ["--wait", "--timeout-ms", "120000"], 150_000);
    await waitForMsg(root, "spread wave started", 30_000);
    for (const id of victims) process.kill((nodes.get(id) as { pid: number }).pid, "SIGKILL");
    const restarted = new Promise<void>((resolve) => {
      let count = 0;
      dispatcher.onLog((line) => {
        if (line.msg === "calculator restarted; its tasks are re-placed" && ++count === KILLED) resolve();
      });
    });
    for (const id of victims) cluster.startNode(id);
    const round1 = await first;
    expect(round1.code, round1.stderr).toBe(0);
    expect(round1.output).toMatchObject({ succeededCount: 400, failedCount: 0 });
    expect(round1.output.claimedCount + round1.output.replacedCount).toBe(400);
    await restarted;
    // The kills hit the wave's work: a victim had not acted yet (so the wave did not reach all 50), or it
    // had claimed tasks that its death took away and the dispatcher placed again.
    expect(
      { acted: round1.output.actedCount, victimTasksReplaced },
      "the kills did not land in the middle of the wave",
    ).toSatisfy(({ acted, victimTasksReplaced: replaced }) => acted < NODES || replaced > 0);

    // Round 2, every node alive again: every node acts and claims exactly its share.
    const waveTimes = new Map<string, number>(); // "<batchId> <msg>" -> pino time (ms)
    root.onLog((line) => waveTimes.set(`${String(line["batchId"])} ${String(line.msg)}`, Number(line["time"])));
    const round2 = await runSpread(port, 500, ["--wait", "--timeout-ms", "120000"], 150_000);
    expect(round2.code, round2.stderr).toBe(0);
    const shares = spreadShares(topology.slots, 500);
    expect(round2.output).toMatchObject({
      status: "done",
      actedCount: NODES,
      waveMessages: 2 * (NODES - 1),
      claimedCount: 500,
      replacedCount: 0,
      succeededCount: 500,
    });
    // Anchor for docs/BENCHMARKS.md: an echo wave over the same tree and processes (nothing queued, so the
    // round is the wave alone; its 2(N - 1) messages match the Finn wave's on a tree).
    const echoRound = waitForMsg(root, "rebalance round", 30_000);
    const rebalance = await runToEnd("cluster", ["rebalance", "--dispatcher", `127.0.0.1:${port}`, "--json"], 40_000);
    expect(rebalance.code, rebalance.stderr).toBe(0);
    const echoMs = Number((await echoRound)["durationMs"]);
    const batch2 = round2.output.requestId;
    const waveMs =
      (waveTimes.get(`${batch2} spread wave done`) ?? NaN) - (waveTimes.get(`${batch2} spread wave started`) ?? NaN);
    expect(waveMs).toBeGreaterThanOrEqual(0);
    console.log(
      `50-node tree: round 1 ${round1.output.status} (${round1.output.actedCount}/${NODES} acted, ` +
        `${round1.output.claimedCount} claimed, ${round1.output.replacedCount} re-placed, ` +
        `${victimTasksReplaced} claimed by victims and re-placed); ` +
        `round 2 wave ${waveMs} ms, ${round2.output.waveMessages} messages; echo wave (anchor) ${echoMs} ms`,
    );

    await stopAll();
    const byNode = finishedByNode(dir, topology.ids);
    const runs = runsPerTask(byNode);
    const all = [...round1.output.taskIds, ...round2.output.taskIds];
    expect(all.filter((id) => runs.get(id) !== 1)).toEqual([]);
    expect(runs.size).toBe(all.length);
    const round2Ids = new Set(round2.output.taskIds);
    topology.ids.forEach((id, i) => {
      const ran = (byNode.get(id) ?? []).filter((taskId) => round2Ids.has(taskId)).length;
      expect(ran, id).toBe(shares[i]);
    });
  }, 300_000);
});
