/**
 * run-cluster --overlay FILE: a dispatcher, one calculator per topology node (its slots as capacity,
 * a local queue, every other node's address) and a client. The root starts first and takes the
 * first burst of tasks alone; the other nodes join once it has queued work, so the first rounds have
 * something to rebalance. Unless --interval-ms is given, the client keeps QUEUED_PER_SLOT tasks
 * outstanding per slot of the topology: the dispatcher spreads them evenly by count while the nodes'
 * slots differ, so queues stay uneven and every round has tasks to move. Each round is printed as the
 * root logs it: the root's wave message count, moves, queues before and after.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { loadTopologyFile } from "../overlay/files.js";
import type { Topology } from "../overlay/tree.js";
import { openUdpTransport } from "../transport/udp-transport.js";
import { type Child, type LogLine, spawnChild, stopChildren } from "./children.js";
import {
  awaitClient,
  demoCalculatorSettings,
  emulatedFaultsNote,
  killOnExit,
  type LocalClusterOptions,
  STOP_GRACE_MS,
  startClient,
  startDispatcherChild,
  waitForRegistrations,
  writePids,
  writeRunConfigs,
} from "./local-cluster.js";

/** What an overlay run needs beyond a plain one. */
export interface OverlayClusterOptions extends LocalClusterOptions {
  readonly topologyPath: string;
  readonly rebalanceIntervalMs: number;
  readonly queueMax: number;
  /** True: the client sends on intervalMs (open loop); false: it keeps the queues full (closed loop). */
  readonly isOpenLoop: boolean;
}

/** Closed loop: tasks outstanding per slot of the topology (one running, one queued on average). */
export const QUEUED_PER_SLOT = 2;

/** How long the root may take to queue its first task before the others join anyway (ms). */
const ROOT_BURST_WAIT_MS = 10_000;

/** Picks `count` free UDP ports on 127.0.0.1 (bound, then released for the calculators to take). */
export async function freePorts(count: number): Promise<number[]> {
  const transports = await Promise.all(
    Array.from({ length: count }, () => openUdpTransport({ host: "127.0.0.1", port: 0 })),
  );
  const ports = transports.map((transport) => transport.local.port);
  await Promise.all(transports.map((transport) => transport.close()));
  return ports;
}

/** Settings of every node of a local overlay, beyond what the topology says. */
export interface OverlayNodeSettings {
  readonly computeMs: { readonly min: number; readonly max: number };
  readonly failureProbability: number;
  readonly corruptionProbability: number;
  readonly queueMax: number;
  readonly rebalanceIntervalMs: number;
}

/** Writes node-<id>.json for every node (listening on 127.0.0.1:ports[i]); returns the paths. */
export function writeNodeConfigs(
  runDir: string,
  topologyPath: string,
  topology: Topology,
  ports: readonly number[],
  settings: OverlayNodeSettings,
): string[] {
  const peers = Object.fromEntries(topology.ids.map((id, i) => [id, `127.0.0.1:${ports[i]}`]));
  return topology.ids.map((id, i) => {
    const path = join(runDir, `node-${id}.json`);
    const config = {
      id,
      listen: { host: "127.0.0.1", port: ports[i] },
      ...demoCalculatorSettings(settings),
      overlay: {
        topology: resolve(topologyPath),
        peers,
        queueMax: settings.queueMax,
        rebalanceIntervalMs: settings.rebalanceIntervalMs,
      },
    };
    writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
    return path;
  });
}

/** One line per rebalancing round, from the root's own log line (its count of the wave's messages). */
export function formatRound(line: LogLine): string {
  const spread = (loads: unknown): string =>
    Object.entries((loads ?? {}) as Record<string, number>)
      .map(([id, queued]) => `${id}:${queued}`)
      .join(" ");
  const field = (name: string): string => String(line[name] ?? "?");
  return (
    `round ${field("round")}: ${field("status")}, ${field("reachedCount")}/${field("nodeCount")} nodes, ` +
    `${field("waveMessages")} wave messages, ${field("movedCount")} tasks moved; queued before ` +
    `[${spread(line["loadsBefore"])}] after [${spread(line["loadsAfter"])}]`
  );
}

/** Prints a round when the root logs it (the other nodes' lines may arrive later: the root's count is whole). */
function reportRounds(root: Child, say: (text: string) => void): void {
  root.onLog((line) => {
    if (line.msg === "rebalance round" || line.msg === "rebalance round timed out") say(formatRound(line));
  });
}

/** Runs the overlay cluster to the end of the client; resolves with the client's exit code. */
export async function runOverlayCluster(options: OverlayClusterOptions): Promise<number> {
  const topology = loadTopologyFile(options.topologyPath);
  const configs = writeRunConfigs(options);
  const nodeConfigs = writeNodeConfigs(
    options.runDir,
    options.topologyPath,
    topology,
    await freePorts(topology.size),
    options,
  );
  const common = ["--json-logs", "--log-level", options.logLevel];
  const children: Child[] = [];
  killOnExit(children);
  try {
    const { child: dispatcher, address } = await startDispatcherChild(options.runDir, configs.dispatcher, common);
    children.push(dispatcher);
    options.say(
      `dispatcher on ${address}; overlay of ${topology.size} nodes from ${options.topologyPath}; logs in ${options.runDir}`,
    );
    const faultsNote = emulatedFaultsNote(options);
    if (faultsNote !== undefined) options.say(faultsNote);
    const startNode = (i: number, logLevel: string): Child => {
      const id = topology.ids[i] as string;
      const node = spawnChild({
        name: `node-${id}`,
        bin: "run-calculator",
        args: ["-s", nodeConfigs[i] as string, "--dispatcher", address, "--json-logs", "--log-level", logLevel],
        logPath: join(options.runDir, `node-${id}.log`),
      });
      children.push(node);
      return node;
    };
    const rootRegistered = waitForRegistrations(dispatcher, 1);
    const root = startNode(topology.root, "debug");
    await rootRegistered;
    const slotCount = topology.slots.reduce((sum, slots) => sum + slots, 0);
    const concurrency = options.isOpenLoop ? undefined : QUEUED_PER_SLOT * slotCount;
    if (concurrency !== undefined) {
      options.say(
        `the client keeps ${concurrency} tasks outstanding (${QUEUED_PER_SLOT} per slot of ${slotCount}), so queues build up; --interval-ms sends at random intervals instead`,
      );
    }
    const clientOptions = concurrency === undefined ? options : { ...options, concurrency };
    const client = startClient(clientOptions, configs.client, address, common);
    children.push(client);
    await root.waitForLog((line) => line.msg === "task queued", ROOT_BURST_WAIT_MS).catch(() => undefined);
    const othersRegistered = waitForRegistrations(dispatcher, topology.size - 1);
    // Other nodes log at info at least: their wave and move lines are in their logs for the operator.
    const nodeLogLevel = options.logLevel === "debug" || options.logLevel === "trace" ? options.logLevel : "info";
    for (let i = 0; i < topology.size; i += 1) if (i !== topology.root) startNode(i, nodeLogLevel);
    reportRounds(root, options.say);
    options.say(
      `root ${topology.ids[topology.root]} took the first tasks alone; ${await othersRegistered} more nodes joined`,
    );
    writePids(options.runDir, children);
    return await awaitClient(client);
  } finally {
    await stopChildren(children, STOP_GRACE_MS);
    options.say(`stopped ${children.length} processes; statistics in ${join(options.runDir, "stats.json")}`);
  }
}
