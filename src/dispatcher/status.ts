/**
 * The dispatcher's status as plain data (SPEC section 8, `GET /status` and `cluster calculators`):
 * every registered calculator with its state, load and estimates, and task counts. Built by
 * DispatcherCore.status(nowMs) from the registry; pure (time arrives as nowMs), no I/O, no
 * formatting: the admin HTTP server and the CLI serialise it. Every field is JSON-safe (no
 * undefined, no Infinity).
 */
import { FAILING_RATE_MIN } from "../placement/placement.js";
import type { NodeId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";
import type { CalculatorEntry, CalculatorRegistry } from "./registry.js";

/**
 * How the dispatcher sees a calculator now:
 * - `alive`: heard within half its heartbeat timeout, not failing; placement uses it freely.
 * - `suspect`: alive but silent for more than half of `heartbeatTimeoutMs`; chosen only when no
 *   healthy calculator has a free slot.
 * - `parked`: alive but its failure rate is at least FAILING_RATE_MIN (0.4); like suspect, it is
 *   chosen only as a last resort until successes or time bring the rate down (SPEC 5.7).
 * - `dead`: silent for more than `heartbeatTimeoutMs`; its copies were re-placed. It stays listed
 *   until `calculatorEvictAfterMs` of silence, then disappears.
 */
export type CalculatorState = "alive" | "suspect" | "dead" | "parked";

/** One calculator in /status. */
export interface CalculatorStatus {
  readonly id: NodeId;
  /** `host:port` its packets come from (`[v6]:port` for IPv6). */
  readonly address: string;
  readonly state: CalculatorState;
  /** Slots it announced in its last heartbeat. */
  readonly capacity: number;
  /** Copies it runs now: what we placed there or what it reported, whichever is more; 0 when dead. */
  readonly running: number;
  /** Decaying failure rate in [0, 1] (see dispatcher/estimates.ts); 0 when never seen failing. */
  readonly failureRate: number;
  /** EWMA of its successful copies' latencies (ms); null before its first result. */
  readonly latencyMs: number | null;
  /** Milliseconds since the dispatcher last heard from it (an age, not a timestamp; >= 0). */
  readonly lastSeenMs: number;
}

/** Task counts in /status: `queued` and `running` now, `succeeded` and `failed` since the core started. */
export interface TaskStatusCounts {
  /** Tasks waiting for a free calculator (no live copy). */
  readonly queued: number;
  /** Tasks with at least one copy out (or waiting only for a re-placement). */
  readonly running: number;
  /** Final results sent (each task once, not retransmissions). */
  readonly succeeded: number;
  /** Final failures sent (timeout, overloaded, cancelled, no_quorum), each task once. */
  readonly failed: number;
}

/** What DispatcherCore.status returns. Bounded: at most calculatorsMax calculators. */
export interface DispatcherStatus {
  /** Every registered calculator (alive, suspect, parked or dead not yet evicted), sorted by id. */
  readonly calculators: readonly CalculatorStatus[];
  readonly tasks: TaskStatusCounts;
}

function addressOf(entry: CalculatorEntry): string {
  const { host, port } = entry.endpoint;
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The state shown for one registry entry at nowMs. */
export function calculatorState(nowMs: number, registry: CalculatorRegistry, entry: CalculatorEntry): CalculatorState {
  if (!entry.isAlive) return "dead";
  if (registry.isSuspect(nowMs, entry)) return "suspect";
  return registry.failureRate(nowMs, entry.id) >= FAILING_RATE_MIN ? "parked" : "alive";
}

/** The status of every registered calculator at nowMs, sorted by id. */
export function calculatorStatuses(nowMs: number, registry: CalculatorRegistry): CalculatorStatus[] {
  const statuses: CalculatorStatus[] = [];
  for (const entry of registry.values()) {
    const estimate = registry.estimates.view(nowMs, entry.id);
    statuses.push({
      id: entry.id,
      address: addressOf(entry),
      state: calculatorState(nowMs, registry, entry),
      capacity: entry.capacity,
      // A dead calculator's copies were taken back and re-placed: it runs nothing we count on.
      running: entry.isAlive ? Math.max(entry.assigned.size, entry.reportedRunning) : 0,
      failureRate: estimate.failureRate,
      latencyMs: estimate.latencyMs ?? null,
      lastSeenMs: Math.max(0, nowMs - entry.lastHeardMs),
    });
  }
  statuses.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  assert(statuses.length === registry.size, "every registered calculator is listed once");
  return statuses;
}
