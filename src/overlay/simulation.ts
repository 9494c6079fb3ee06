/**
 * The deterministic overlay simulation behind `run-overlay-sim` (SPEC.md section 7): every node of a
 * topology runs as the daemons' own overlay shell ({@link OverlaySimCluster}: an OverlayAgent per node
 * on one seeded MemoryNetwork with loss, duplication and reordering, and simulated time). As an
 * operator would through the dispatcher, the run asks the root for a rebalancing round (echo wave 1
 * and its moves), a second round (whose wave must plan no move), then a Finn spread wave. A seed
 * replays a run exactly.
 */
import { SPREAD_TASKS_MAX } from "../protocol/spread-packets.js";
import { assert } from "../runtime/assert.js";
import { type Rng, randomIntInclusive, seededRng } from "../runtime/rng.js";
import { OverlaySimCluster, SimulationStalledError } from "./sim-cluster.js";
import type { Topology } from "./tree.js";

export { SimulationStalledError } from "./sim-cluster.js";

/** Options of {@link simulateOverlay}. */
export interface OverlaySimOptions {
  readonly topology: Topology;
  /** Queued tasks per node id; nodes not listed hold none. Default: seeded random 0..3 × slots. */
  readonly loads?: Readonly<Record<string, number>> | undefined;
  /** Datagram loss in [0, 1]; duplication is half of it, reordering always (delay 0..5 ms). */
  readonly lossProbability: number;
  readonly seed: number;
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
  /** Tasks the second rebalancing round moved (0 when the first round worked). */
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

/** Tasks the Finn wave spreads per slot (at most SPREAD_TASKS_MAX in all, a batch's bound). */
const FINN_TASKS_PER_SLOT = 10;

/** Runs the whole scenario and returns the printed result plus diagnostics. */
export function simulateOverlay(options: OverlaySimOptions): {
  result: OverlaySimResult;
  diagnostics: OverlaySimDiagnostics;
} {
  assert(options.lossProbability >= 0 && options.lossProbability < 1, "loss must be in [0, 1)");
  const { topology } = options;
  const loadRng = seededRng(options.seed);
  const loadsBefore = initialLoads(topology, options.loads, loadRng);
  const cluster = new OverlaySimCluster({
    topology,
    loads: loadsBefore,
    taskRng: loadRng,
    lossProbability: options.lossProbability,
    seed: options.seed,
  });
  const taskIdsBefore = cluster.queues.flatMap((queue) => queue.taskIds());
  const first = doneRound(cluster, 1);
  const second = doneRound(cluster, 2);
  const slotsTotal = topology.slots.reduce((a, b) => a + b, 0);
  const finn = cluster.spread(Math.min(SPREAD_TASKS_MAX, FINN_TASKS_PER_SLOT * slotsTotal));
  if (finn.status !== "done") throw new SimulationStalledError(`the Finn wave ended ${finn.status}`);
  const loadsAfter: Record<string, number> = {};
  for (const [i, id] of topology.ids.entries()) loadsAfter[id] = cluster.queues[i]?.count("queued") ?? 0;
  return {
    result: {
      nodes: topology.size,
      echo: { waves: 2, messagesPerWave: [first, second].map((r) => cluster.echoMessagesIn(r.waveId)) },
      finn: { messages: finn.waveMessages },
      moved: first.movedCount,
      retransmissions: cluster.resentCount,
      loadsBefore,
      loadsAfter,
    },
    diagnostics: {
      secondRoundMoved: second.movedCount,
      actedCountById: cluster.actedCountById,
      finnCompletedActedCount: finn.actedCount,
      taskIdsBefore,
      taskIdsAfter: cluster.queues.flatMap((queue) => queue.taskIds()),
      droppedByReason: cluster.droppedByReason(),
      simulatedMs: cluster.nowMs,
      datagramCount: cluster.network.stats.sentCount,
    },
  };
}

/** One rebalancing round that must end done (a timed-out or rejected round fails the run). */
function doneRound(cluster: OverlaySimCluster, round: number): { waveId: number; movedCount: number } {
  const result = cluster.rebalance();
  if (result.status !== "done") throw new SimulationStalledError(`rebalancing round ${round} ended ${result.status}`);
  return result;
}

function initialLoads(topology: Topology, loads: OverlaySimOptions["loads"], rng: Rng): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [i, id] of topology.ids.entries()) {
    out[id] = loads === undefined ? randomIntInclusive(rng, 0, 3 * (topology.slots[i] as number)) : (loads[id] ?? 0);
  }
  return out;
}
