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

/** One overlay node with its load, as far as the dispatcher sees it. */
export interface OverlayNodeStatus {
  readonly id: string;
  readonly role: "root" | "node";
  readonly slots: number;
  readonly running: number;
  readonly state: CalculatorState;
}

/** Builds the /status document: the core's calculators and counts (dispatcher/status.ts) plus the overlay. */
export function buildStatus(nowMs: number, source: StatusSource): ClusterStatus {
  const { calculators, tasks } = source.core.status(nowMs);
  const overlayNodes: OverlayNodeStatus[] = [];
  for (const row of calculators) {
    const role = source.core.registry.get(row.id)?.overlayRole;
    if (role !== undefined) {
      overlayNodes.push({ id: row.id, role, slots: row.capacity, running: row.running, state: row.state });
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
