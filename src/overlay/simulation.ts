/**
 * The deterministic overlay simulation behind `run-overlay-sim` (SPEC.md section 7): every node of a
 * topology runs as a {@link SimNode} on one seeded {@link MemoryNetwork} (loss, duplication,
 * reordering) with simulated time. The root runs echo wave 1, carries out the rebalancing plan, runs
 * echo wave 2 (which must plan no move), then a Finn wave. A seed replays a run exactly.
 */
import { MOVE_TASKS_MAX, type MovedTask } from "../protocol/overlay-packets.js";
import { retryPolicy } from "../reliable/retry-policy.js";
import { assert } from "../runtime/assert.js";
import { type Rng, randomIntInclusive, seededRng, seededUuid } from "../runtime/rng.js";
import { MemoryNetwork } from "../transport/memory-network.js";
import type { Endpoint } from "../transport/transport.js";
import type { SubtreeReport } from "./echo.js";
import { MoveRound } from "./move.js";
import { planRebalance, toMoveOrders } from "./rebalance.js";
import { checkReport } from "./report-check.js";
import { SimNode, type SimNodeEvents } from "./sim-node.js";
import { TaskQueue } from "./task-queue.js";
import type { Topology } from "./tree.js";

/** Options of {@link simulateOverlay}. */
export interface OverlaySimOptions {
  readonly topology: Topology;
  /** Queued tasks per node id; nodes not listed hold none. Default: seeded random 0..3 × slots. */
  readonly loads?: Readonly<Record<string, number>> | undefined;
  /** Datagram loss in [0, 1]; duplication is half of it, reordering always (delay 0..delayMsMax). */
  readonly lossProbability: number;
  readonly seed: number;
  /** Work items the Finn wave disseminates; default 10 per slot. */
  readonly finnItemsTotal?: number;
}

/** The JSON that `run-overlay-sim --json` prints (SPEC.md section 7). */
export interface OverlaySimResult {
  nodes: number;
  echo: { waves: number; messagesPerWave: number[] };
  finn: { messages: number };
  moved: number;
  retransmissions: number;
  loadsBefore: Record<string, number>;
  loadsAfter: Record<string, number>;
}

/** What the tests check beyond the printed result. */
export interface OverlaySimDiagnostics {
  /** Tasks the second rebalancing round would move (0 when the first round worked). */
  secondRoundMoved: number;
  /** Finn: times each node acted (must be 1 everywhere) and the root's completion count. */
  actedCountById: Map<string, number>;
  finnCompletedActedCount: number;
  /** Every task id held anywhere, before and after (conservation: same multiset, no duplicate). */
  taskIdsBefore: string[];
  taskIdsAfter: string[];
  droppedByReason: Record<string, number>;
  simulatedMs: number;
  /** Datagrams sent on the network (wave messages, echo parts, acks, retransmissions, moves). */
  datagramCount: number;
}

const DELAY_MS_MAX = 5;
const TICK_MS = 10;
/** A run that has not finished after this much simulated time is a bug (or hopeless loss). */
const SIMULATED_MS_MAX = 600_000;

/** A run that could not finish in SIMULATED_MS_MAX (an operating failure, e.g. extreme loss): exit 1. */
export class SimulationStalledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SimulationStalledError";
  }
}

/** Runs the whole scenario and returns the printed result plus diagnostics. */
export function simulateOverlay(options: OverlaySimOptions): {
  result: OverlaySimResult;
  diagnostics: OverlaySimDiagnostics;
} {
  assert(options.lossProbability >= 0 && options.lossProbability < 1, "loss must be in [0, 1)");
  const { topology } = options;
  const loadRng = seededRng(options.seed);
  const network = new MemoryNetwork({
    rng: seededRng(options.seed ^ 0x5eed_1e55),
    lossProbability: options.lossProbability,
    duplicateProbability: options.lossProbability / 2,
    delayMsMax: DELAY_MS_MAX,
    inFlightMax: 10_000_000,
  });
  let nowMs = 0;
  const loadsBefore = initialLoads(topology, options.loads, loadRng);
  const totalTasks = Object.values(loadsBefore).reduce((sum, n) => sum + n, 0);
  const state = new SimState();
  const nodes = buildNodes(topology, network, loadsBefore, loadRng, totalTasks, state, () => nowMs);
  const taskIdsBefore = nodes.flatMap((node) => node.queue.taskIds());
  const root = nodes[topology.root] as SimNode;
  const itemsTotal = options.finnItemsTotal ?? 10 * topology.slots.reduce((a, b) => a + b, 0);
  state.onDecided = (waveId, report) => state.advance(root, waveId, report, itemsTotal);
  root.startEcho(1);
  while (!state.isFinished && nowMs < SIMULATED_MS_MAX) {
    nowMs += 1;
    network.deliverDue(nowMs);
    if (nowMs % TICK_MS === 0) for (const node of nodes) if (node.link.hasWork) node.onTick(nowMs);
  }
  if (!state.isFinished) {
    throw new SimulationStalledError(
      `the simulation did not finish within ${SIMULATED_MS_MAX} simulated ms (loss ${options.lossProbability} too high?)`,
    );
  }
  const loadsAfter: Record<string, number> = {};
  for (const node of nodes) loadsAfter[node.id] = node.queue.count("queued");
  return {
    result: {
      nodes: topology.size,
      echo: { waves: state.messagesPerWave.size, messagesPerWave: [...state.messagesPerWave.values()] },
      finn: { messages: state.finnMessageCount },
      moved: state.firstRoundMoved,
      retransmissions: nodes.reduce((sum, node) => sum + node.link.retransmittedCount, 0),
      loadsBefore,
      loadsAfter,
    },
    diagnostics: {
      secondRoundMoved: state.secondRoundMoved,
      actedCountById: state.actedCountById,
      finnCompletedActedCount: state.finnCompletedActedCount,
      taskIdsBefore,
      taskIdsAfter: nodes.flatMap((node) => node.queue.taskIds()),
      droppedByReason: state.droppedByReason,
      simulatedMs: nowMs,
      datagramCount: network.stats.sentCount,
    },
  };
}

/** The root's scenario and every counter, as one event sink shared by all nodes. */
class SimState implements SimNodeEvents {
  /** BOUNDED: the echo waves of one run (2). */
  readonly messagesPerWave = new Map<number, number>();
  /** BOUNDED: one entry per node. */
  readonly actedCountById = new Map<string, number>();
  /** BOUNDED: one per drop reason code. */
  readonly droppedByReason: Record<string, number> = {};
  finnMessageCount = 0;
  firstRoundMoved = 0;
  secondRoundMoved = -1;
  finnCompletedActedCount = 0;
  isFinished = false;
  onDecided: (waveId: number, report: SubtreeReport) => void = () => undefined;
  #round: MoveRound | undefined;
  #afterMoves: () => void = () => undefined;

  onWaveMessage(waveId: number): void {
    this.messagesPerWave.set(waveId, (this.messagesPerWave.get(waveId) ?? 0) + 1);
  }
  onFinnMessage(): void {
    this.finnMessageCount += 1;
  }
  onEchoDecided(waveId: number, report: SubtreeReport): void {
    if (!this.messagesPerWave.has(waveId)) this.messagesPerWave.set(waveId, 0); // a lone root sends nothing
    this.onDecided(waveId, report);
  }
  onFinnCompleted(_waveId: number, actedCount: number): void {
    this.finnCompletedActedCount = actedCount;
    this.isFinished = true;
  }
  onActed(nodeId: string): void {
    this.actedCountById.set(nodeId, (this.actedCountById.get(nodeId) ?? 0) + 1);
  }
  onMoveReport(report: Parameters<MoveRound["onReport"]>[0]): void {
    if (this.#round === undefined || !this.#round.onReport(report)) {
      this.onDropped("move_report_unexpected");
    } else if (this.#round.isComplete) {
      this.#afterMoves();
    }
  }
  onDropped(reason: string): void {
    this.droppedByReason[reason] = (this.droppedByReason[reason] ?? 0) + 1;
  }

  /** Wave 1 decided: carry out the plan, then wave 2; wave 2 decided: check, then the Finn wave. */
  advance(root: SimNode, waveId: number, report: SubtreeReport, itemsTotal: number): void {
    const checked = checkReport(report);
    if (!checked.ok) {
      // Never in a healthy run; counted, and the run stalls into SimulationStalledError instead of crashing.
      this.onDropped(`report_${checked.reason}`);
      return;
    }
    const plan = planRebalance(checked.nodes);
    if (waveId === 1) {
      this.firstRoundMoved = plan.movedCount;
      const orders = toMoveOrders(plan, 1);
      this.#round = new MoveRound(1, orders);
      this.#afterMoves = () => root.startEcho(2);
      if (orders.length === 0) this.#afterMoves();
      for (const order of orders) root.sendOrder(order);
      return;
    }
    this.secondRoundMoved = plan.movedCount;
    root.startFinn(3, { itemsTotal, slotsTotal: report.slotsSum });
  }
}

function initialLoads(topology: Topology, loads: OverlaySimOptions["loads"], rng: Rng): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [i, id] of topology.ids.entries()) {
    out[id] = loads === undefined ? randomIntInclusive(rng, 0, 3 * (topology.slots[i] as number)) : (loads[id] ?? 0);
  }
  return out;
}

function buildNodes(
  topology: Topology,
  network: MemoryNetwork,
  loads: Record<string, number>,
  rng: Rng,
  totalTasks: number,
  events: SimNodeEvents,
  nowMs: () => number,
): SimNode[] {
  const endpoints: Endpoint[] = [];
  const transports = topology.ids.map(() => {
    const transport = network.bind(nowMs);
    endpoints.push(transport.local);
    return transport;
  });
  // Every simulated node binds the same host, so the port alone names it.
  const idByPort = new Map(endpoints.map((endpoint, i) => [endpoint.port, topology.ids[i] as string]));
  const host = endpoints[0]?.host;
  const directory = {
    endpointOf: (id: string) => endpoints[topology.mustIndexOf(id)] as Endpoint,
    idOf: (endpoint: Endpoint) => (endpoint.host === host ? idByPort.get(endpoint.port) : undefined),
  };
  const names = (indexes: readonly number[]) => indexes.map((i) => topology.ids[i] as string);
  return topology.ids.map((id, i) => {
    const tasks: MovedTask[] = [];
    for (let k = 0; k < (loads[id] as number); k += 1)
      tasks.push({ taskId: seededUuid(rng), input: `${id}#${k}`, rounds: 1 });
    return new SimNode({
      id,
      slots: topology.slots[i] as number,
      parents: names(topology.parents[i] ?? []),
      children: names(topology.children[i] ?? []),
      treeChildren: names(topology.treeChildren[i] ?? []),
      transport: transports[i] as NonNullable<(typeof transports)[number]>,
      directory,
      queue: new TaskQueue(Math.max(1, totalTasks), tasks),
      link: {
        // The root may have one order per MOVE_TASKS_MAX tasks in flight, plus its wave messages.
        unackedMax: Math.ceil(totalTasks / MOVE_TASKS_MAX) + 4 * topology.size + 1024,
        dedupMax: 65_536,
        dedupTtlMs: 120_000,
        // First resend after two ticks (acks are flushed once per tick) plus the largest delay.
        policy: retryPolicy([2 * TICK_MS + 2 * DELAY_MS_MAX, 60, 120]),
      },
      events,
      nowMs,
    });
  });
}
