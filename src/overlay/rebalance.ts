/**
 * The rebalancing planner (SPEC.md section 7): from an echo report the root computes which queued
 * tasks move where. Node i's share is total × slots_i / Σ slots; after the plan every node holds
 * ⌊share⌋ or ⌈share⌉, the total is unchanged, the number of moved tasks is the minimum that achieves
 * this, and planning again on the result moves nothing. Pure; docs/OVERLAY.md has the proof.
 */
import { MOVE_TASKS_MAX } from "../protocol/overlay-packets.js";
import { assert } from "../runtime/assert.js";

/** One node as the planner sees it. `queued` counts movable tasks only (running ones never move). */
export interface PlanNode {
  readonly id: string;
  readonly slots: number;
  readonly queued: number;
}

/** Move `count` queued tasks from `from` to `to`. */
export interface Transfer {
  readonly from: string;
  readonly to: string;
  readonly count: number;
}

/** The planner's answer. */
export interface RebalancePlan {
  /** Target load per node id, each ⌊share⌋ or ⌈share⌉. BOUNDED: one per node. */
  readonly targets: ReadonlyMap<string, number>;
  /** BOUNDED: fewer than the number of nodes (each transfer empties a giver or fills a receiver). */
  readonly transfers: readonly Transfer[];
  /** Σ transfer counts: the minimum number of tasks that must move. */
  readonly movedCount: number;
}

/** One `overlay.move.order`: at most MOVE_TASKS_MAX tasks, named by (round, index). */
export interface MoveOrder extends Transfer {
  readonly round: number;
  readonly index: number;
}

interface Target {
  readonly node: PlanNode;
  readonly floor: number;
  readonly isFractional: boolean;
}

/** Computes the minimal rebalancing plan for `nodes` (ids distinct, slots ≥ 1). */
export function planRebalance(nodes: readonly PlanNode[]): RebalancePlan {
  const total = nodes.reduce((sum, node) => sum + node.queued, 0);
  const slotsSum = nodes.reduce((sum, node) => sum + node.slots, 0);
  assert(nodes.length === 0 || slotsSum > 0, "slots must be positive");
  assert(Number.isSafeInteger(total * Math.max(1, slotsSum)), "loads too large for exact arithmetic");
  const targets = chooseTargets(nodes, total, slotsSum);
  const transfers = matchTransfers(nodes, targets);
  const movedCount = transfers.reduce((sum, transfer) => sum + transfer.count, 0);
  assert(movedCount === minimalMoveCount(nodes), "the plan is not minimal");
  return { targets, transfers, movedCount };
}

/**
 * Targets: everyone gets ⌊share⌋, and the r = total − Σ⌊share⌋ leftover tasks go, one each, to nodes
 * with a fractional share, preferring nodes already holding ≥ ⌈share⌉ (each such choice saves a move).
 */
function chooseTargets(nodes: readonly PlanNode[], total: number, slotsSum: number): Map<string, number> {
  const all: Target[] = nodes.map((node) => {
    const scaled = total * node.slots;
    return { node, floor: Math.floor(scaled / slotsSum), isFractional: scaled % slotsSum !== 0 };
  });
  let leftoverCount = total - all.reduce((sum, target) => sum + target.floor, 0);
  const candidates = all.filter((target) => target.isFractional);
  assert(leftoverCount >= 0 && leftoverCount <= candidates.length, "share arithmetic is inconsistent");
  // Nodes at or above ⌈share⌉ first (most loaded per slot first), then the others by how close they are.
  candidates.sort((a, b) => {
    const aKeeps = a.node.queued > a.floor ? 1 : 0;
    const bKeeps = b.node.queued > b.floor ? 1 : 0;
    return bKeeps - aKeeps || b.node.queued - b.floor - (a.node.queued - a.floor) || compareIds(a.node.id, b.node.id);
  });
  const targets = new Map<string, number>();
  for (const target of all) targets.set(target.node.id, target.floor);
  for (const target of candidates) {
    if (leftoverCount === 0) break;
    targets.set(target.node.id, target.floor + 1);
    leftoverCount -= 1;
  }
  return targets;
}

/** Pairs givers (most loaded per slot first) with receivers (least loaded per slot first), greedily. */
function matchTransfers(nodes: readonly PlanNode[], targets: ReadonlyMap<string, number>): Transfer[] {
  const perSlot = (node: PlanNode): number => node.queued / node.slots;
  const givers = nodes
    .filter((node) => node.queued > (targets.get(node.id) as number))
    .sort((a, b) => perSlot(b) - perSlot(a) || compareIds(a.id, b.id));
  const receivers = nodes
    .filter((node) => node.queued < (targets.get(node.id) as number))
    .sort((a, b) => perSlot(a) - perSlot(b) || compareIds(a.id, b.id));
  const surplus = givers.map((node) => node.queued - (targets.get(node.id) as number));
  const deficit = receivers.map((node) => (targets.get(node.id) as number) - node.queued);
  const transfers: Transfer[] = [];
  let g = 0;
  let r = 0;
  while (g < givers.length && r < receivers.length) {
    const count = Math.min(surplus[g] as number, deficit[r] as number);
    transfers.push({ from: (givers[g] as PlanNode).id, to: (receivers[r] as PlanNode).id, count });
    surplus[g] = (surplus[g] as number) - count;
    deficit[r] = (deficit[r] as number) - count;
    if (surplus[g] === 0) g += 1;
    if (deficit[r] === 0) r += 1;
  }
  assert(g === givers.length && r === receivers.length, "surplus and deficit do not balance");
  return transfers;
}

/**
 * The closed-form minimum: Σ max(0, queued − ⌊share⌋), less one for each leftover task that can go
 * to a node with a fractional share already holding more than ⌊share⌋ (see docs/OVERLAY.md).
 */
export function minimalMoveCount(nodes: readonly PlanNode[]): number {
  const total = nodes.reduce((sum, node) => sum + node.queued, 0);
  const slotsSum = nodes.reduce((sum, node) => sum + node.slots, 0);
  if (nodes.length === 0) return 0;
  let excess = 0;
  let floorsSum = 0;
  let keepersCount = 0;
  for (const node of nodes) {
    const scaled = total * node.slots;
    const floor = Math.floor(scaled / slotsSum);
    floorsSum += floor;
    excess += Math.max(0, node.queued - floor);
    if (scaled % slotsSum !== 0 && node.queued > floor) keepersCount += 1;
  }
  return excess - Math.min(total - floorsSum, keepersCount);
}

/** Splits transfers into orders of at most MOVE_TASKS_MAX tasks, numbered from 0 within `round`. */
export function toMoveOrders(plan: RebalancePlan, round: number): MoveOrder[] {
  const orders: MoveOrder[] = [];
  for (const transfer of plan.transfers) {
    for (let left = transfer.count; left > 0; left -= MOVE_TASKS_MAX) {
      orders.push({ ...transfer, count: Math.min(left, MOVE_TASKS_MAX), round, index: orders.length });
    }
  }
  return orders;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
