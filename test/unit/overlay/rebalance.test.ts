/**
 * Goal: the rebalancing plan conserves tasks, leaves every node at ⌊share⌋ or ⌈share⌉, moves the
 * minimum number of tasks that achieves that, and a second round moves nothing.
 * Method: fast-check properties over random clusters (seeded, so a counterexample replays), with the
 * minimum checked against a brute force over every choice of ceilings on small clusters and against
 * the closed form on large ones; plus hand-computed examples.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { minimalMoveCount, type PlanNode, planRebalance, toMoveOrders } from "../../../src/overlay/rebalance.js";
import { MOVE_TASKS_MAX } from "../../../src/protocol/overlay-packets.js";

const clusterArb = (nodesMax: number, queuedMax: number) =>
  fc
    .array(fc.record({ slots: fc.integer({ min: 1, max: 6 }), queued: fc.integer({ min: 0, max: queuedMax }) }), {
      minLength: 1,
      maxLength: nodesMax,
    })
    .map((nodes) => nodes.map((node, i): PlanNode => ({ id: `n${i}`, ...node })));

/** Loads after applying the plan's transfers. */
function apply(nodes: readonly PlanNode[], plan: ReturnType<typeof planRebalance>): PlanNode[] {
  const loads = new Map(nodes.map((node) => [node.id, node.queued]));
  for (const t of plan.transfers) {
    loads.set(t.from, (loads.get(t.from) as number) - t.count);
    loads.set(t.to, (loads.get(t.to) as number) + t.count);
  }
  return nodes.map((node) => ({ ...node, queued: loads.get(node.id) as number }));
}

/** The true minimum: try every set of nodes that get ⌈share⌉ (2^n, small n only). */
function bruteForceMinimum(nodes: readonly PlanNode[]): number {
  const total = nodes.reduce((s, n) => s + n.queued, 0);
  const slots = nodes.reduce((s, n) => s + n.slots, 0);
  let best = Number.POSITIVE_INFINITY;
  for (let mask = 0; mask < 1 << nodes.length; mask += 1) {
    const targets = nodes.map((n, i) => {
      const share = (total * n.slots) / slots;
      return (mask >> i) & 1 ? Math.ceil(share) : Math.floor(share);
    });
    if (targets.reduce((a, b) => a + b, 0) !== total) continue;
    best = Math.min(
      best,
      nodes.reduce((s, n, i) => s + Math.max(0, n.queued - (targets[i] as number)), 0),
    );
  }
  return best;
}

const params = { seed: 20_261_123, numRuns: 300 };

describe("planRebalance: properties", () => {
  it("conserves tasks and leaves every node at ⌊share⌋ or ⌈share⌉", () => {
    fc.assert(
      fc.property(clusterArb(40, 60), (nodes) => {
        const after = apply(nodes, planRebalance(nodes));
        const total = nodes.reduce((s, n) => s + n.queued, 0);
        const slots = nodes.reduce((s, n) => s + n.slots, 0);
        expect(after.reduce((s, n) => s + n.queued, 0)).toBe(total);
        for (const node of after) {
          const share = (total * node.slots) / slots;
          expect(node.queued >= Math.floor(share) && node.queued <= Math.ceil(share)).toBe(true);
        }
      }),
      params,
    );
  });

  it("moves exactly the brute-force minimum on small clusters", () => {
    fc.assert(
      fc.property(clusterArb(9, 25), (nodes) => {
        expect(planRebalance(nodes).movedCount).toBe(bruteForceMinimum(nodes));
      }),
      params,
    );
  });

  it("matches the closed form on large clusters, never moves from a receiver, and a second round moves nothing", () => {
    fc.assert(
      fc.property(clusterArb(300, 500), (nodes) => {
        const plan = planRebalance(nodes);
        expect(plan.movedCount).toBe(minimalMoveCount(nodes));
        const givers = new Set(plan.transfers.map((t) => t.from));
        for (const t of plan.transfers) {
          expect(givers.has(t.to)).toBe(false);
          expect(t.count).toBeGreaterThan(0);
        }
        expect(plan.transfers.length).toBeLessThan(nodes.length);
        const second = planRebalance(apply(nodes, plan));
        expect(second.movedCount).toBe(0);
        expect(second.transfers).toEqual([]);
      }),
      { ...params, numRuns: 100 },
    );
  });

  it("splits transfers into orders of at most MOVE_TASKS_MAX tasks, numbered from 0", () => {
    fc.assert(
      fc.property(clusterArb(30, 200), fc.integer({ min: 0, max: 1000 }), (nodes, round) => {
        const plan = planRebalance(nodes);
        const orders = toMoveOrders(plan, round);
        expect(orders.reduce((s, o) => s + o.count, 0)).toBe(plan.movedCount);
        const bad = orders.filter(
          (o, i) => o.round !== round || o.index !== i || o.count < 1 || o.count > MOVE_TASKS_MAX,
        );
        expect(bad).toEqual([]);
      }),
      { ...params, numRuns: 100 },
    );
  });
});

describe("planRebalance: worked examples", () => {
  it("rebalances config/overlay/loads-7.json on tree-7 with 13 moves", () => {
    const slots = { a: 2, b: 1, c: 2, d: 1, e: 3, f: 1, g: 2 };
    const queued = { a: 7, b: 0, c: 12, d: 1, e: 0, f: 9, g: 3 };
    const nodes = Object.entries(slots).map(([id, s]) => ({ id, slots: s, queued: queued[id as keyof typeof queued] }));
    const plan = planRebalance(nodes);
    // total 32 over 12 slots: shares 5.33 (a, c, g), 2.67 (b, d, f), 8 (e). Floors sum to 29, so three
    // nodes get a ceiling: a, c and f already hold more than their ceiling, so giving it to them saves 3.
    expect(Object.fromEntries(plan.targets)).toEqual({ a: 6, b: 2, c: 6, d: 2, e: 8, f: 3, g: 5 });
    expect(plan.movedCount).toBe(13);
  });

  it("prefers giving the ceiling to a node already at it (no move at all)", () => {
    // total 3 over 2 equal nodes: shares 1.5 each; [2, 1] is already balanced.
    expect(
      planRebalance([
        { id: "a", slots: 1, queued: 2 },
        { id: "b", slots: 1, queued: 1 },
      ]).movedCount,
    ).toBe(0);
    expect(
      planRebalance([
        { id: "a", slots: 1, queued: 3 },
        { id: "b", slots: 1, queued: 0 },
      ]).transfers,
    ).toEqual([{ from: "a", to: "b", count: 1 }]);
  });

  it("handles empty and idle clusters", () => {
    expect(planRebalance([]).movedCount).toBe(0);
    expect(
      planRebalance([
        { id: "a", slots: 3, queued: 0 },
        { id: "b", slots: 1, queued: 0 },
      ]).movedCount,
    ).toBe(0);
  });
});
