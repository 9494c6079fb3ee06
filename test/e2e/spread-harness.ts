/**
 * Helpers for the Finn spread e2e tests: an overlay of real calculator processes (one per topology
 * node, on 127.0.0.1 ports picked free) registered with a real dispatcher, `cluster spread` run to the
 * end, and the nodes' JSON logs read back to count where each task ran.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { waitForRegistrations } from "../../src/cluster/local-cluster.js";
import { freePorts, writeNodeConfigs } from "../../src/cluster/overlay-cluster.js";
import { loadTopologyFile } from "../../src/overlay/files.js";
import type { Topology } from "../../src/overlay/tree.js";
import { type Child, runToEnd, start, startDispatcher } from "./harness.js";

/** A running overlay. */
export interface SpreadCluster {
  readonly dir: string;
  readonly topology: Topology;
  readonly port: number;
  readonly dispatcher: Child;
  /** Node processes by id (replaced when a node is restarted). */
  readonly nodes: Map<string, Child>;
  /** Starts (or restarts) node `id`. */
  startNode(id: string): Child;
}

/** Options of an overlay under test. */
export interface SpreadClusterOptions {
  readonly computeMs: { readonly min: number; readonly max: number };
  readonly waveTimeoutMs: number;
  readonly dispatcherArgs?: readonly string[];
  readonly registerWaitMs?: number;
}

/** Starts a dispatcher and every node of `topologyPath`, and waits until all registered. */
export async function startSpreadCluster(
  dir: string,
  topologyPath: string,
  options: SpreadClusterOptions,
): Promise<SpreadCluster> {
  const topology = loadTopologyFile(topologyPath);
  const { child: dispatcher, port } = await startDispatcher(dir, options.dispatcherArgs ?? []);
  const settings = {
    computeMs: options.computeMs,
    failureProbability: 0,
    corruptionProbability: 0,
    queueMax: 200,
    rebalanceIntervalMs: 0,
  };
  const configs = writeNodeConfigs(dir, topologyPath, topology, await freePorts(topology.size), settings);
  for (const path of configs) {
    const config = JSON.parse(readFileSync(path, "utf8")) as { overlay: Record<string, unknown> };
    config.overlay["waveTimeoutMs"] = options.waveTimeoutMs;
    writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  }
  const nodes = new Map<string, Child>();
  const lives = new Map<string, number>();
  const startNode = (id: string): Child => {
    const life = (lives.get(id) ?? 0) + 1;
    lives.set(id, life);
    const index = topology.mustIndexOf(id);
    const args = ["-s", configs[index] as string, "--dispatcher", `127.0.0.1:${port}`, "--log-level", "debug"];
    const child = start(dir, `node-${id}-${life}`, "run-calculator", args);
    nodes.set(id, child);
    return child;
  };
  const registered = waitForRegistrations(dispatcher, topology.size, options.registerWaitMs ?? 30_000);
  for (const id of topology.ids) startNode(id);
  const count = await registered;
  if (count < topology.size) throw new Error(`only ${count}/${topology.size} nodes registered`);
  return { dir, topology, port, dispatcher, nodes, startNode };
}

/** What `cluster spread --json` prints. */
export interface SpreadOutput {
  readonly requestId: string;
  readonly status: string;
  readonly count: number;
  readonly waveId: number;
  readonly nodeCount: number;
  readonly actedCount: number;
  readonly waveMessages: number;
  readonly claimedCount: number;
  readonly replacedCount: number;
  readonly succeededCount: number;
  readonly failedCount: number;
  readonly shares: readonly { id: string; share: number; claimed: number }[];
  readonly taskIds: readonly string[];
}

/** Runs `cluster spread` to its end and parses its JSON. */
export async function runSpread(
  port: number,
  count: number,
  extra: readonly string[],
  timeoutMs: number,
): Promise<{ code: number; output: SpreadOutput; stderr: string }> {
  const args = ["spread", "--count", String(count), "--dispatcher", `127.0.0.1:${port}`, "--json", ...extra];
  const { code, stdout, stderr } = await runToEnd("cluster", args, timeoutMs);
  if (!stdout.startsWith("{")) throw new Error(`cluster spread printed no JSON (exit ${code}): ${stdout}${stderr}`);
  return { code, output: JSON.parse(stdout) as SpreadOutput, stderr };
}

/** Node id -> task ids it finished (`task finished` debug lines), over every life of every node. */
export function finishedByNode(dir: string, ids: readonly string[], lifesMax = 4): Map<string, string[]> {
  const byNode = new Map<string, string[]>();
  for (const id of ids) {
    const tasks: string[] = [];
    for (let life = 1; life <= lifesMax; life += 1) {
      let text: string;
      try {
        text = readFileSync(join(dir, `node-${id}-${life}.log`), "utf8");
      } catch {
        break;
      }
      for (const line of text.split("\n")) {
        if (!line.startsWith("{")) continue;
        const parsed = JSON.parse(line) as { msg?: string; taskId?: string };
        if (parsed.msg === "task finished" && parsed.taskId !== undefined) tasks.push(parsed.taskId);
      }
    }
    byNode.set(id, tasks);
  }
  return byNode;
}

/** Task id -> how many times it finished, over all nodes. */
export function runsPerTask(byNode: ReadonlyMap<string, readonly string[]>): Map<string, number> {
  const runs = new Map<string, number>();
  for (const tasks of byNode.values()) for (const taskId of tasks) runs.set(taskId, (runs.get(taskId) ?? 0) + 1);
  return runs;
}
