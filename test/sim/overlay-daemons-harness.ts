/**
 * Runs the real daemon shells of an overlay cluster (dispatcher, one calculator with its overlay
 * agent per topology node, client) on a seeded MemoryNetwork with a ManualClock, capturing their
 * logs in memory. The root starts alone and takes a burst of tasks; the other nodes join later, so
 * rounds have queued work to move. Optionally one node is killed for good at a given time.
 */
import pino from "pino";

import { startCalculator } from "../../src/calculator/daemon.js";
import { evaluateTask } from "../../src/calculator/evaluate.js";
import { startClient } from "../../src/client/daemon.js";
import type { TaskRecord } from "../../src/client/types.js";
import { startDispatcher } from "../../src/dispatcher/daemon.js";
import { parseTopology, type Topology } from "../../src/overlay/tree.js";
import { ManualClock } from "../../src/runtime/clock.js";
import { seededRng, seededUuid } from "../../src/runtime/rng.js";
import { simCalculatorConfig, simClientConfig, simDispatcherConfig } from "../../src/sim/sim-configs.js";
import { MemoryNetwork } from "../../src/transport/memory-network.js";
import type { Endpoint } from "../../src/transport/transport.js";

/** The 7-node tree of config/overlay/tree-7.json. */
export const TREE_7 = {
  nodes: [
    { id: "a", slots: 2, parents: [] },
    { id: "b", slots: 1, parents: ["a"] },
    { id: "c", slots: 2, parents: ["a"] },
    { id: "d", slots: 1, parents: ["b"] },
    { id: "e", slots: 3, parents: ["b"] },
    { id: "f", slots: 1, parents: ["c"] },
    { id: "g", slots: 2, parents: ["c"] },
  ],
};

export interface OverlaySimOptions {
  readonly seed: number;
  readonly lossProbability: number;
  readonly taskCount: number;
  readonly othersJoinAtMs: number;
  readonly rebalanceIntervalMs: number;
  readonly kill?: { readonly id: string; readonly atMs: number };
  /** Starts the killed node again (same id and address, a new process) at this time. */
  readonly restartAtMs?: number;
  /** Keep running at least this long even after the client is done (for rounds after a kill). */
  readonly simTimeMsMin?: number;
  readonly simTimeMsMax: number;
}

export interface LogLine {
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface OverlaySimReport {
  readonly records: TaskRecord[];
  readonly isFinished: boolean;
  /** Every JSON log line of every daemon, in order. */
  readonly lines: LogLine[];
  /** How often each task was started on any calculator (a move must never make it 2). */
  readonly startsPerTask: Map<string, number>;
  readonly simTimeMs: number;
}

const DISPATCHER: Endpoint = { host: "10.0.0.1", port: 5555 };
const STEP_MS = 5;

function nodeEndpoint(index: number): Endpoint {
  return { host: `10.0.1.${index + 1}`, port: 7001 + index };
}

function topologyOf(file: typeof TREE_7): Topology {
  const parsed = parseTopology(file);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.topology;
}

/** Runs one seeded overlay simulation until the client is done or simTimeMsMax. */
export async function runOverlayDaemonSim(options: OverlaySimOptions): Promise<OverlaySimReport> {
  const clock = new ManualClock(0);
  const now = (): number => clock.nowMs();
  const network = new MemoryNetwork({
    rng: seededRng(options.seed),
    lossProbability: options.lossProbability,
    duplicateProbability: options.lossProbability / 2,
    delayMsMax: 20,
    inFlightMax: 50_000,
  });
  const lines: LogLine[] = [];
  const log = pino({ level: "debug" }, { write: (text: string) => void lines.push(JSON.parse(text) as LogLine) });
  const topology = topologyOf(TREE_7);
  const peers = new Map(topology.ids.map((id, i) => [id, nodeEndpoint(i)]));
  startDispatcher({
    config: simDispatcherConfig({
      taskTimeoutMs: 300_000,
      heartbeatTimeoutMs: 1_500,
      evictAfterMs: 600_000,
      queueTimeoutMs: 600_000,
      tasksMax: 1_000,
      queueMax: 500,
    }),
    tickMs: 10,
    transport: network.bind(now, DISPATCHER.host, DISPATCHER.port),
    clock,
    log,
  });
  const handles = new Map<string, { stop(): Promise<void> }>();
  const startNode = (index: number, bootMs = 1_000): void => {
    const id = topology.ids[index] as string;
    const isRoot = index === topology.root;
    const config = simCalculatorConfig(id, bootMs, DISPATCHER, {
      capacity: topology.slots[index] as number,
      queueMax: 500,
      computeMs: { min: 150, max: 300 },
      overlayRole: isRoot ? "root" : "node",
    });
    const overlay = {
      nodeId: id,
      topology,
      peers,
      rebalanceIntervalMs: options.rebalanceIntervalMs,
      waveTimeoutMs: 2_000,
      childSilenceMs: 800,
      bootMs,
    };
    const transport = network.bind(now, nodeEndpoint(index).host, nodeEndpoint(index).port);
    handles.set(
      id,
      startCalculator({ config, tickMs: 10, transport, clock, rng: seededRng(options.seed * 7 + index), log, overlay }),
    );
  };
  startNode(topology.root);
  const records: TaskRecord[] = [];
  let isFinished = false;
  const idRng = seededRng(options.seed + 99);
  const client = startClient({
    config: simClientConfig(DISPATCHER, {
      countMax: options.taskCount,
      concurrency: options.taskCount,
      requestTimeoutMs: 600_000,
    }),
    tickMs: 10,
    transport: network.bind(now, "10.0.2.1", 9000),
    clock,
    rng: seededRng(options.seed + 5),
    newTaskId: () => seededUuid(idRng),
    verify: (input, rounds, result) => evaluateTask(input, rounds) === result,
    log,
    onRecord: (record) => records.push(record),
  });
  void client.finished.then(() => {
    isFinished = true;
  });
  let haveOthersJoined = false;
  let isKilled = false;
  let isRestarted = false;
  const isDone = (): boolean => isFinished && clock.nowMs() >= (options.simTimeMsMin ?? 0);
  while (!isDone() && clock.nowMs() < options.simTimeMsMax) {
    clock.advance(STEP_MS);
    network.deliverDue(clock.nowMs());
    if (!haveOthersJoined && clock.nowMs() >= options.othersJoinAtMs) {
      haveOthersJoined = true;
      for (let i = 0; i < topology.size; i += 1) if (i !== topology.root) startNode(i);
    }
    if (options.kill !== undefined && !isKilled && clock.nowMs() >= options.kill.atMs) {
      isKilled = true;
      await handles.get(options.kill.id)?.stop();
    }
    if (
      options.kill !== undefined &&
      options.restartAtMs !== undefined &&
      !isRestarted &&
      clock.nowMs() >= options.restartAtMs
    ) {
      isRestarted = true;
      startNode(topology.mustIndexOf(options.kill.id), clock.nowMs());
    }
    await new Promise<void>((resolve) => setImmediate(resolve)); // let computed digests come back
  }
  const startsPerTask = new Map<string, number>();
  for (const line of lines) {
    if (line.msg === "task started")
      startsPerTask.set(String(line["taskId"]), (startsPerTask.get(String(line["taskId"])) ?? 0) + 1);
  }
  return { records, isFinished, lines, startsPerTask, simTimeMs: clock.nowMs() };
}
