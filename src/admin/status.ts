/**
 * GET /status (SPEC 8): the cluster as JSON: DispatcherCore.status(nowMs) (calculators with their
 * failure and latency estimates, task counts) plus this dispatcher's identity and the overlay nodes
 * with their load. Pure: time arrives as nowMs.
 */
import type { DispatcherCore } from "../dispatcher/core.js";
import type { CalculatorState, CalculatorStatus, TaskStatusCounts } from "../dispatcher/status.js";
import type { ActivityLog } from "./activity.js";

/** What the admin plane reads from a running dispatcher. */
export interface StatusSource {
  readonly core: DispatcherCore;
  readonly nodeId: string;
  readonly version: string;
  readonly startedMs: number;
  readonly activity: ActivityLog;
}

/** The /status document. */
export interface ClusterStatus {
  readonly nodeId: string;
  readonly version: string;
  readonly uptimeS: number;
  readonly calculators: readonly CalculatorStatus[];
  readonly tasks: TaskStatusCounts;
  readonly overlay: null | { root: string | null; nodes: OverlayNodeStatus[] };
}

/**
 * One overlay node with its load, as far as the dispatcher sees it (SPEC 8: the tree with each node's
 * slots, queue and state). `parents` come from the node's heartbeats (empty for the root, and for a
 * node whose calculator does not announce them); `running` is at most `slots`, the rest is `queued`.
 */
export interface OverlayNodeStatus {
  readonly id: string;
  readonly role: "root" | "node";
  readonly parents: readonly string[];
  readonly slots: number;
  readonly running: number;
  readonly queued: number;
  readonly state: CalculatorState;
}

/** Builds the /status document: the core's calculators and counts (dispatcher/status.ts) plus the overlay. */
export function buildStatus(nowMs: number, source: StatusSource): ClusterStatus {
  const { calculators, tasks } = source.core.status(nowMs);
  const overlayNodes: OverlayNodeStatus[] = [];
  for (const row of calculators) {
    const entry = source.core.registry.get(row.id);
    if (entry?.overlayRole !== undefined) {
      // A node's heartbeat counts running and queued tasks together against slots + queueMax.
      const slots = entry.overlaySlots ?? row.capacity;
      const held = entry.isAlive ? entry.reportedRunning : 0;
      overlayNodes.push({
        id: row.id,
        role: entry.overlayRole,
        parents: [...(entry.overlayParents ?? [])],
        slots,
        running: Math.min(held, slots),
        queued: Math.max(0, held - slots),
        state: row.state,
      });
    }
  }
  return {
    nodeId: source.nodeId,
    version: source.version,
    uptimeS: Math.round((nowMs - source.startedMs) / 100) / 10,
    calculators,
    tasks,
    overlay:
      overlayNodes.length === 0
        ? null
        : { root: overlayNodes.find((node) => node.role === "root")?.id ?? null, nodes: overlayNodes },
  };
}
