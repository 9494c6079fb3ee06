/**
 * Runs the real daemon shells of an overlay cluster (dispatcher, one calculator with its overlay
 * agent per topology node, client) on a seeded MemoryNetwork with a ManualClock, capturing their
 * logs in memory. The root starts alone and takes a burst of tasks; the other nodes join later, so
 * rounds have queued work to move. Optionally one node is killed for good at a given time.
 */
import pino from "pino";

import type { CalculatorCore } from "../../src/calculator/core.js";
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
import type { Endpoint, Transport } from "../../src/transport/transport.js";
import { MoveCrashes, type MoveCrashPlan } from "./overlay-crashes.js";
import { type Execution, executionsOf } from "./overlay-invariants.js";

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
  /** More kills, each followed by a restart (a new incarnation) downMs later. */
  readonly restarts?: readonly { readonly id: string; readonly atMs: number; readonly downMs: number }[];
  /** Crashes right after move steps (a receiver took tasks, a giver committed), each restarted later. */
  readonly moveCrashes?: MoveCrashPlan;
  /** Cuts a node and its whole subtree off the network (every packet in or out lost) for a while. */
  readonly partition?: { readonly id: string; readonly fromMs: number; readonly toMs: number };
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
  /** Every execution of every task, on every node and incarnation (BOUNDED: the run's tasks). */
  readonly executions: Map<string, Execution[]>;
  readonly simTimeMs: number;
  /**
   * Live nodes holding a moved task unconfirmed for longer than STRANDED_ARRIVAL_MS at the end: the
   * dispatcher answers every announcement, and one given up unanswered drops the task, so such a task
   * would hold a queue place for good (a receiver that never announced it, for instance).
   */
  readonly strandedArrivals: string[];
}

/** Longer than a receiver resends an arrival announcement (the last about 3.6 s after the first). */
const STRANDED_ARRIVAL_MS = 4_000;

const DISPATCHER: Endpoint = { host: "10.0.0.1", port: 5555 };
const STEP_MS = 5;
/** The simulated wall clock at sim time 0 (boots are wall-clock times). */
const BOOT_EPOCH_MS = 1_000_000;

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
  let onLine = (_line: LogLine): void => undefined;
  const log = pino(
    { level: "debug", timestamp: () => `,"simMs":${clock.nowMs()}` },
    {
      write: (text: string) => {
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        onLine(line);
      },
    },
  );
  const topology = topologyOf(TREE_7);
  const peers = new Map(topology.ids.map((id, i) => [id, nodeEndpoint(i)]));
  const nodeAt = new Map(topology.ids.map((id, i) => [`${nodeEndpoint(i).host}:${nodeEndpoint(i).port}`, id]));
  /** Returns how long (ms) to hold this offer datagram back in the network, or undefined to send it now. */
  let onOffer = (_giver: string, _receiver: string, _key: string, _atMs: number): number | undefined => undefined;
  /** BOUNDED: at most one datagram per offer fault. Offer datagrams held back in the network, in send order. */
  const heldBack: { atMs: number; send: () => void }[] = [];
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
  /** BOUNDED: topology size. Each node's current life. */
  const handles = new Map<string, { readonly core: CalculatorCore; isStopped: boolean; stop(): Promise<void> }>();
  const lives = new Map<string, number>();
  // A node's boot is the wall-clock time it started (src/cli/calculator.ts), so every life of a node
  // has a larger boot than the one before: the simulated wall clock is BOOT_EPOCH_MS + sim time.
  const startNode = (index: number): void => {
    const bootMs = BOOT_EPOCH_MS + clock.nowMs();
    const id = topology.ids[index] as string;
    const life = (lives.get(id) ?? 0) + 1;
    lives.set(id, life);
    const nodeLog = log.child({ node: id, life });
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
    const transport = sniffOffers(
      network.bind(now, nodeEndpoint(index).host, nodeEndpoint(index).port),
      (to, key) => {
        const receiver = nodeAt.get(`${to.host}:${to.port}`);
        return receiver === undefined ? undefined : onOffer(id, receiver, key, clock.nowMs());
      },
      (delayMs, send) => {
        heldBack.push({ atMs: clock.nowMs() + delayMs, send });
        heldBack.sort((a, b) => a.atMs - b.atMs);
      },
    );
    const daemon = startCalculator({
      config,
      tickMs: 10,
      transport,
      clock,
      rng: seededRng(options.seed * 7 + index + life * 1_000),
      log: nodeLog,
      overlay,
    });
    const handle = {
      core: daemon.core,
      isStopped: false,
      stop: async (): Promise<void> => {
        handle.isStopped = true;
        await daemon.stop();
      },
    };
    handles.set(id, handle);
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
  const crashes =
    options.moveCrashes === undefined
      ? undefined
      : new MoveCrashes(
          options.moveCrashes,
          seededRng(options.seed * 13 + 3),
          {
            lines,
            network,
            nodes: topology.ids,
            dispatcher: DISPATCHER,
            endpointOf: (node) => nodeEndpoint(topology.mustIndexOf(node)),
            kill: async (node) => await handles.get(node)?.stop(),
            restart: (node) => startNode(topology.mustIndexOf(node)),
          },
          seededRng(options.seed * 17 + 5),
          seededRng(options.seed * 19 + 11),
        );
  if (crashes !== undefined) {
    onLine = (line) => crashes.onLine(line);
    onOffer = (giver, receiver, key, atMs) => crashes.onOfferSent(giver, receiver, key, atMs);
  }
  let haveOthersJoined = false;
  let isKilled = false;
  let isRestarted = false;
  const isDone = (): boolean =>
    isFinished && clock.nowMs() >= Math.max(options.simTimeMsMin ?? 0, crashes?.busyUntilMs ?? 0);
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
      lines.push({ msg: "sim: node killed", node: options.kill.id, simMs: clock.nowMs() });
    }
    if (
      options.kill !== undefined &&
      options.restartAtMs !== undefined &&
      !isRestarted &&
      clock.nowMs() >= options.restartAtMs
    ) {
      isRestarted = true;
      startNode(topology.mustIndexOf(options.kill.id));
    }
    await applyFaults(options, clock.nowMs(), network, topology, handles, lines, startNode);
    await crashes?.step(clock.nowMs());
    while (heldBack.length > 0 && (heldBack[0] as { atMs: number }).atMs <= clock.nowMs()) heldBack.shift()?.send();
    await new Promise<void>((resolve) => setImmediate(resolve)); // let computed digests come back
  }
  const startsPerTask = new Map<string, number>();
  for (const line of lines) {
    if (line.msg === "task started")
      startsPerTask.set(String(line["taskId"]), (startsPerTask.get(String(line["taskId"])) ?? 0) + 1);
  }
  const strandedArrivals: string[] = [];
  for (const [node, handle] of handles) {
    const sinceMs = handle.isStopped ? undefined : handle.core.oldestArrivedMs();
    if (sinceMs !== undefined && clock.nowMs() - sinceMs > STRANDED_ARRIVAL_MS)
      strandedArrivals.push(`${node}: a moved task held unconfirmed since ${sinceMs} (now ${clock.nowMs()})`);
  }
  return {
    records,
    isFinished,
    lines,
    startsPerTask,
    executions: executionsOf(lines),
    simTimeMs: clock.nowMs(),
    strandedArrivals,
  };
}

const appliedFaults = new WeakMap<OverlaySimOptions, Set<string>>();

/** Kills, restarts and the partition, each once, when its time comes. */
async function applyFaults(
  options: OverlaySimOptions,
  nowMs: number,
  network: MemoryNetwork,
  topology: Topology,
  handles: Map<string, { stop(): Promise<void> }>,
  lines: LogLine[],
  startNode: (index: number) => void,
): Promise<void> {
  const done = appliedFaults.get(options) ?? new Set<string>();
  appliedFaults.set(options, done);
  const once = (key: string, atMs: number): boolean => {
    if (done.has(key) || nowMs < atMs) return false;
    done.add(key);
    return true;
  };
  for (const [k, fault] of (options.restarts ?? []).entries()) {
    if (once(`kill${k}`, fault.atMs)) {
      await handles.get(fault.id)?.stop();
      lines.push({ msg: "sim: node killed", node: fault.id, simMs: nowMs });
    }
    if (once(`restart${k}`, fault.atMs + fault.downMs)) startNode(topology.mustIndexOf(fault.id));
  }
  const partition = options.partition;
  if (partition === undefined) return;
  const cut = once("cut", partition.fromMs);
  const heal = once("heal", partition.toMs);
  if (!cut && !heal) return;
  const cutOff = subtreeOf(topology, topology.mustIndexOf(partition.id));
  for (const index of cutOff) network.setIsolated(nodeEndpoint(index), cut);
  const nodes = cutOff.map((index) => topology.ids[index] as string);
  lines.push({ msg: cut ? "sim: subtree cut off" : "sim: subtree back", nodes, simMs: nowMs });
}

/**
 * Reports every overlay move offer `transport` sends (one datagram per packet here: no flush
 * scheduler), keyed by sender, round and index, before it enters the network.
 */
function sniffOffers(
  transport: Transport,
  onOffer: (to: Endpoint, key: string) => number | undefined,
  holdBack: (delayMs: number, send: () => void) => void,
): Transport {
  const decoder = new TextDecoder();
  return {
    local: transport.local,
    send: (to, bytes) => {
      const text = decoder.decode(bytes);
      if (text.includes('"type":"overlay.move"')) {
        const packet = JSON.parse(text) as { from: string; round: number; index: number };
        const delayMs = onOffer(to, `${packet.from}|${packet.round}|${packet.index}`);
        if (delayMs !== undefined) {
          holdBack(delayMs, () => transport.send(to, bytes));
          return;
        }
      }
      transport.send(to, bytes);
    },
    onReceive: (handler) => transport.onReceive(handler),
    close: () => transport.close(),
  };
}

/** A node and all its tree descendants (indexes). */
export function subtreeOf(topology: Topology, index: number): number[] {
  const out = [index];
  for (let k = 0; k < out.length; k += 1) out.push(...(topology.treeChildren[out[k] as number] ?? []));
  return out;
}
