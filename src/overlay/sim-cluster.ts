/**
 * The simulator's host of the one overlay node shell: every node of a topology is an
 * {@link OverlayAgent}, the very class a calculator daemon runs, here on one seeded
 * {@link MemoryNetwork} (loss, duplication, reordering) with simulated time, its queue a
 * {@link TaskQueue}. The host only carries bytes: it decodes what a node's transport receives and hands
 * it to the agent, and encodes what the agent sends. A stand-in dispatcher (in-process, lossless,
 * acting only between steps) asks the root for rebalancing rounds and Finn spread waves as the real
 * dispatcher relays them, and grants every spread claim. No protocol logic of its own.
 */
import pino from "pino";

import { decodePacket, encodePacket } from "../protocol/codec.js";
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import { MOVE_TASKS_MAX, type MovedTask } from "../protocol/overlay-packets.js";
import type { Packet } from "../protocol/packet.js";
import type { AdminRebalanceResult } from "../protocol/packets.js";
import type { SpreadEnd } from "../protocol/spread-packets.js";
import { type Rng, seededRng, seededUuid } from "../runtime/rng.js";
import { MemoryNetwork } from "../transport/memory-network.js";
import { type Endpoint, sameEndpoint, type Transport } from "../transport/transport.js";
import { OverlayAgent } from "./agent.js";
import { isOverlayAgentPacket, type OverlayAgentLimits } from "./agent-config.js";
import type { OverlayQueue } from "./overlay-queue.js";
import { TaskQueue } from "./task-queue.js";
import type { Topology } from "./tree.js";

/** Largest random delay of a datagram (ms): reordering. */
export const SIM_DELAY_MS_MAX = 5;
/** The agents are ticked this often (ms); acks go out once per tick. */
export const SIM_TICK_MS = 10;
/** A run that has not finished after this much simulated time is a bug (or hopeless loss). */
export const SIMULATED_MS_MAX = 600_000;

/** A run that could not finish in SIMULATED_MS_MAX (an operating failure, e.g. extreme loss): exit 1. */
export class SimulationStalledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SimulationStalledError";
  }
}

/** Options of an {@link OverlaySimCluster}. */
export interface SimClusterOptions {
  readonly topology: Topology;
  /** Queued tasks per node id (every node listed). */
  readonly loads: Readonly<Record<string, number>>;
  /** Draws the task ids. */
  readonly taskRng: Rng;
  /** Datagram loss in [0, 1); duplication is half of it, reordering always. */
  readonly lossProbability: number;
  readonly seed: number;
}

/** A packet between the stand-in dispatcher and a node. */
interface DispatcherMail {
  readonly node: number;
  readonly packet: Packet;
}

/** Every node of a topology as a real overlay shell on a simulated network and clock. */
export class OverlaySimCluster {
  readonly topology: Topology;
  readonly network: MemoryNetwork;
  /** One per topology node, in file order. */
  readonly agents: OverlayAgent[];
  readonly queues: TaskQueue[];
  readonly transports: Transport[];
  /** Times each node acted in a Finn spread wave. BOUNDED: one entry per node. */
  readonly actedCountById = new Map<string, number>();
  /** Datagrams a node's host could not hand over, by reason. BOUNDED: decode error codes. */
  readonly hostDropped = new Map<string, number>();
  readonly dispatcher: Endpoint;
  nowMs = 0;
  readonly #requestRng: Rng;
  /** BOUNDED: what one step produces; emptied every step. */
  #toDispatcher: DispatcherMail[] = [];
  #toNodes: DispatcherMail[] = [];
  /** BOUNDED: the answers of this run's requests (a few). */
  readonly #answers = new Map<string, AdminRebalanceResult | SpreadEnd>();

  constructor(options: SimClusterOptions) {
    const { topology } = options;
    this.topology = topology;
    this.#requestRng = seededRng(options.seed ^ 0x0d15_9a7c);
    this.network = new MemoryNetwork({
      rng: seededRng(options.seed ^ 0x5eed_1e55),
      lossProbability: options.lossProbability,
      duplicateProbability: options.lossProbability / 2,
      delayMsMax: SIM_DELAY_MS_MAX,
      inFlightMax: 10_000_000,
    });
    const clock = (): number => this.nowMs;
    this.transports = topology.ids.map(() => this.network.bind(clock));
    this.dispatcher = this.network.bind(clock).local; // an address only: its mail is passed in-process
    const totalTasks = Object.values(options.loads).reduce((sum, n) => sum + n, 0);
    this.queues = topology.ids.map((id) => {
      const tasks: MovedTask[] = [];
      for (let k = 0; k < (options.loads[id] ?? 0); k += 1)
        tasks.push({ taskId: seededUuid(options.taskRng), input: `${id}#${k}`, rounds: 1 });
      return new TaskQueue(Math.max(1, totalTasks), tasks);
    });
    const peers = new Map(topology.ids.map((id, i) => [id, (this.transports[i] as Transport).local]));
    const limits = simLimits(topology, totalTasks);
    const log = pino({ level: "silent" });
    this.agents = topology.ids.map((id, i) => this.#agentOf(i, id, peers, limits, log));
  }

  /** Asks the root for one rebalancing round and runs until its answer. */
  rebalance(): AdminRebalanceResult {
    const requestId = seededUuid(this.#requestRng);
    const request = { v: PROTOCOL_VERSION, from: "dispatcher", type: "admin.rebalance", requestId } as const;
    this.#toNodes.push({ node: this.topology.root, packet: request });
    const answer = this.runUntil(() => this.#answers.get(requestId), "a rebalancing round");
    if (answer.type !== "admin.rebalance.result") throw new Error("unreachable: answer type");
    return answer;
  }

  /** Asks the root for one Finn spread wave of `count` tasks and runs until it ends. */
  spread(count: number): SpreadEnd {
    const batchId = seededUuid(this.#requestRng);
    const start = { v: PROTOCOL_VERSION, from: "dispatcher", type: "spread.start", batchId, count } as const;
    this.#toNodes.push({ node: this.topology.root, packet: start });
    const end = this.runUntil(() => this.#answers.get(batchId), "a Finn spread wave");
    if (end.type !== "spread.end") throw new Error("unreachable: answer type");
    return end;
  }

  /** Advances simulated time 1 ms at a time until `done` returns a value. */
  runUntil<T>(done: () => T | undefined, what: string): T {
    for (;;) {
      const value = done();
      if (value !== undefined) return value;
      if (this.nowMs >= SIMULATED_MS_MAX) {
        throw new SimulationStalledError(
          `the simulation did not finish ${what} within ${SIMULATED_MS_MAX} simulated ms (loss too high?)`,
        );
      }
      this.step();
    }
  }

  /** One simulated ms: the dispatcher's mail, due datagrams, and every tick due. */
  step(): void {
    this.nowMs += 1;
    const toNodes = this.#toNodes;
    this.#toNodes = [];
    for (const { node, packet } of toNodes) {
      if (isOverlayAgentPacket(packet)) this.agents[node]?.onPacket(this.nowMs, this.dispatcher, packet);
    }
    this.network.deliverDue(this.nowMs);
    if (this.nowMs % SIM_TICK_MS === 0) for (const agent of this.agents) if (agent.hasWork) agent.onTick(this.nowMs);
    const toDispatcher = this.#toDispatcher;
    this.#toDispatcher = [];
    for (const mail of toDispatcher) this.#dispatch(mail);
  }

  /** Datagrams resent for loss, over every node. */
  get resentCount(): number {
    return this.agents.reduce((sum, agent) => sum + agent.resentCount, 0);
  }

  /** Echo messages sent in wave `waveId`, over every node. */
  echoMessagesIn(waveId: number): number {
    return this.agents.reduce((sum, agent) => sum + agent.echoMessagesSent(waveId), 0);
  }

  /** Drops by reason, over every node and host. */
  droppedByReason(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.hostDropped);
    for (const agent of this.agents)
      for (const [reason, count] of agent.droppedCounts) out[reason] = (out[reason] ?? 0) + count;
    return out;
  }

  #agentOf(
    index: number,
    id: string,
    peers: ReadonlyMap<string, Endpoint>,
    limits: OverlayAgentLimits,
    log: pino.Logger,
  ): OverlayAgent {
    const transport = this.transports[index] as Transport;
    const agent = new OverlayAgent({
      config: {
        nodeId: id,
        topology: this.topology,
        peers,
        rebalanceIntervalMs: 0, // rounds only on request
        waveTimeoutMs: SIMULATED_MS_MAX, // never times out (nor presumes an offer moved) before the run stalls
        childSilenceMs: SIMULATED_MS_MAX,
        bootMs: 0, // simulator numbering: seqs from 0, wave ids from 1
        limits,
      },
      queue: overlayQueueOf(this.queues[index] as TaskQueue, this.topology.slots[index] as number),
      send: (to, packet) => {
        if (sameEndpoint(to, this.dispatcher)) this.#toDispatcher.push({ node: index, packet });
        else transport.send(to, encodePacket(packet));
      },
      nowMs: () => this.nowMs,
      log,
      dispatcher: this.dispatcher,
      observer: { spreadActed: () => this.actedCountById.set(id, (this.actedCountById.get(id) ?? 0) + 1) },
    });
    transport.onReceive((datagram) => {
      const decoded = decodePacket(datagram.bytes);
      if (decoded.ok && isOverlayAgentPacket(decoded.packet)) agent.onPacket(this.nowMs, datagram.from, decoded.packet);
      else this.#hostDrop(decoded.ok ? "not_overlay" : decoded.error.code);
    });
    return agent;
  }

  #hostDrop(reason: string): void {
    this.hostDropped.set(reason, (this.hostDropped.get(reason) ?? 0) + 1);
  }

  /** The stand-in dispatcher: keeps answers, grants every claim whole. */
  #dispatch({ node, packet }: DispatcherMail): void {
    switch (packet.type) {
      case "admin.rebalance.result":
        this.#answers.set(packet.requestId, packet);
        break;
      case "spread.end":
        this.#answers.set(packet.batchId, packet);
        break;
      case "spread.claim":
        this.#toNodes.push({
          node,
          packet: {
            v: PROTOCOL_VERSION,
            from: "dispatcher",
            type: "spread.claimed",
            batchId: packet.batchId,
            first: packet.first,
            assignedCount: packet.count,
          },
        });
        break;
      default:
        break;
    }
  }
}

/** The simulator's table sizes: the daemons' schedule shape, sized for the run and fast resends. */
function simLimits(topology: Topology, totalTasks: number): OverlayAgentLimits {
  return {
    // The root may have one order per MOVE_TASKS_MAX tasks in flight, plus its wave messages.
    unackedMax: Math.ceil(totalTasks / MOVE_TASKS_MAX) + 4 * topology.size + 1024,
    dedupMax: 65_536,
    dedupTtlMs: 120_000,
    // First resend after two ticks (acks are flushed once per tick) plus the largest delay.
    resendDelaysMs: [2 * SIM_TICK_MS + 2 * SIM_DELAY_MS_MAX, 60, 120],
    movesRememberedMax: 4_096,
    moveRememberMs: 3_600_000,
  };
}

/** A {@link TaskQueue} as an overlay node's queue (the daemon's is the calculator's local queue). */
function overlayQueueOf(queue: TaskQueue, slots: number): OverlayQueue {
  return {
    slots,
    queuedCount: () => queue.count("queued"),
    reserveQueued: (countMax) => queue.reserveQueued(countMax),
    commitMoved: (_nowMs, taskIds) => queue.commitMoved(taskIds),
    releaseReserved: (_nowMs, taskIds) => queue.releaseReserved(taskIds),
    acceptIncoming: (_nowMs, tasks) => queue.acceptIncoming(tasks),
  };
}
