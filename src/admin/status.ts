/**
 * GET /status (SPEC 8): the cluster as JSON, built from the dispatcher core's registry and counts and
 * the shell's activity record. Pure: time arrives as nowMs.
 */
import type { DispatcherCore } from "../dispatcher/core.js";
import type { CalculatorEntry } from "../dispatcher/registry.js";
import type { ActivityLog } from "./activity.js";

/** A calculator's state as operators see it (SPEC 8). */
export type CalculatorState = "alive" | "suspect" | "dead" | "parked";

/** What the admin plane reads from a running dispatcher. */
export interface StatusSource {
  readonly core: DispatcherCore;
  readonly nodeId: string;
  readonly version: string;
  readonly startedMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly activity: ActivityLog;
}

/** One row of the calculators list. */
export interface CalculatorStatus {
  readonly id: string;
  readonly address: string;
  readonly state: CalculatorState;
  readonly capacity: number;
  readonly running: number;
  /** Failure estimate in [0, 1]. */
  readonly failureRate: number;
  /** Mean time to a final answer of the tasks it completed lately (ms); null before its first. */
  readonly latencyMs: number | null;
  /** Time since it was last heard (ms). */
  readonly lastSeenMs: number;
  readonly overlayRole: "root" | "node" | null;
}

/** The /status document. */
export interface ClusterStatus {
  readonly nodeId: string;
  readonly version: string;
  readonly uptimeS: number;
  readonly calculators: CalculatorStatus[];
  readonly tasks: { queued: number; running: number; succeeded: number; failed: number };
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

/** alive, suspect (silent over half the heartbeat timeout), dead; parked is not used by this dispatcher. */
export function calculatorState(nowMs: number, entry: CalculatorEntry, heartbeatTimeoutMs: number): CalculatorState {
  if (!entry.isAlive) return "dead";
  return nowMs - entry.lastHeardMs > heartbeatTimeoutMs / 2 ? "suspect" : "alive";
}

function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Builds the /status document. */
export function buildStatus(nowMs: number, source: StatusSource): ClusterStatus {
  const calculators: CalculatorStatus[] = [];
  for (const entry of source.core.registry.values()) {
    calculators.push({
      id: entry.id,
      address: formatAddress(entry.endpoint.host, entry.endpoint.port),
      state: calculatorState(nowMs, entry, source.heartbeatTimeoutMs),
      capacity: entry.capacity,
      running: Math.max(entry.assigned.size, entry.reportedRunning),
      failureRate: Math.round(entry.failureEstimate * 1_000) / 1_000,
      latencyMs: source.activity.latencyOf(entry.id),
      lastSeenMs: Math.max(0, Math.round(nowMs - entry.lastHeardMs)),
      overlayRole: entry.overlayRole ?? null,
    });
  }
  calculators.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const counts = source.core.counts();
  const overlayNodes = calculators.filter((c) => c.overlayRole !== null);
  return {
    nodeId: source.nodeId,
    version: source.version,
    uptimeS: Math.round((nowMs - source.startedMs) / 100) / 10,
    calculators,
    tasks: {
      queued: counts.queued,
      running: counts.running,
      succeeded: source.activity.succeededCount,
      failed: source.activity.failedCount,
    },
    overlay:
      overlayNodes.length === 0
        ? null
        : {
            root: overlayNodes.find((c) => c.overlayRole === "root")?.id ?? null,
            nodes: overlayNodes.map((c) => ({
              id: c.id,
              role: c.overlayRole === "root" ? "root" : "node",
              slots: c.capacity,
              running: c.running,
              state: c.state,
            })),
          },
  };
}
