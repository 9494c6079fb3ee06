/**
 * The dispatcher's live view of calculators, built from heartbeats. Pure: time arrives as nowMs.
 * A calculator is alive while heard within heartbeatTimeoutMs, dead after that (its tasks are
 * re-placed by the core) and forgotten after evictAfterMs. It keeps its identity across an outage:
 * the same (id, boot) coming back is the same calculator; a new boot means it restarted.
 *
 * Lag-aware (Lifeguard's insight): when the shell reports that its own event loop stalled, silence
 * is judged as of the stall's start until the datagrams queued behind the stall have been read, so a
 * calculator whose heartbeat waits unread in the socket buffer is not declared dead for it.
 */
import type { CalculatorView } from "../placement/placement.js";
import type { CalcHeartbeat, NodeId, TaskId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";
import { SteadySet } from "../runtime/steady-map.js";
import type { Endpoint } from "../transport/transport.js";
import { CalculatorEstimates, FAILURE_HALF_LIFE_MS_DEFAULT, type FailureCause } from "./estimates.js";

/** Registry settings (milliseconds and counts). */
export interface RegistryConfig {
  readonly heartbeatTimeoutMs: number;
  readonly evictAfterMs: number;
  readonly calculatorsMax: number;
  /** Failure counts halve this often (ms); default FAILURE_HALF_LIFE_MS_DEFAULT. */
  readonly failureHalfLifeMs?: number;
}

/** One calculator as the dispatcher sees it. */
export interface CalculatorEntry {
  readonly id: NodeId;
  endpoint: Endpoint;
  boot: number;
  seq: number;
  capacity: number;
  /** Tasks it said it runs in its last heartbeat (adjusted as results and refusals arrive). */
  reportedRunning: number;
  lastHeardMs: number;
  isAlive: boolean;
  /** Tasks whose live copy runs here. BOUNDED: never assigned beyond capacity; cleared on death. */
  readonly assigned: Set<TaskId>;
  lastAssignedMs: number;
  completedCount: number;
  /** Its place in the overlay, if it is an overlay node (from its heartbeats). */
  overlayRole: "root" | "node" | undefined;
  /** Overlay node: its slots and parents as its last heartbeat said (for /status's tree). */
  overlaySlots: number | undefined;
  overlayParents: readonly NodeId[] | undefined;
}

/**
 * How long (ms) after a reported stall deaths are still judged as of the stall's start: time for the
 * event loop to read what queued behind the stall (timers run before I/O in Node's loop). A longer
 * stall shows up again as a late timer and starts a new hold, so this only needs to cover one drain.
 */
export const STALL_DRAIN_MS = 20;

/** What a heartbeat did to the registry. */
export type HeartbeatOutcome =
  | { readonly kind: "registered" }
  | { readonly kind: "refreshed" }
  | { readonly kind: "recovered" }
  | { readonly kind: "restarted"; readonly lostTasks: TaskId[] }
  | { readonly kind: "stale" }
  | { readonly kind: "full" };

/** Live calculators, keyed by id. */
export class CalculatorRegistry {
  /** BOUNDED: config.calculatorsMax; new ids are refused when full; silent ones are evicted. */
  readonly #entries = new Map<NodeId, CalculatorEntry>();
  readonly #config: RegistryConfig;
  /** The last reported stall: deaths judged as of sinceMs until untilMs (see noteStall). */
  #stallHold: { sinceMs: number; readonly untilMs: number } | undefined;
  /** Failure rate and latency per calculator; the only estimates placement and /status read. */
  readonly estimates: CalculatorEstimates;

  constructor(config: RegistryConfig) {
    assert(config.heartbeatTimeoutMs > 0, "heartbeatTimeoutMs must be positive");
    assert(config.evictAfterMs >= config.heartbeatTimeoutMs, "evictAfterMs must be >= heartbeatTimeoutMs");
    this.#config = config;
    this.estimates = new CalculatorEstimates({
      halfLifeMs: config.failureHalfLifeMs ?? FAILURE_HALF_LIFE_MS_DEFAULT,
      entriesMax: config.calculatorsMax,
    });
  }

  get(id: NodeId): CalculatorEntry | undefined {
    return this.#entries.get(id);
  }

  values(): IterableIterator<CalculatorEntry> {
    return this.#entries.values();
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Applies a heartbeat received from `from`; a stale one (older boot or seq) changes nothing. */
  onHeartbeat(nowMs: number, from: Endpoint, heartbeat: CalcHeartbeat): HeartbeatOutcome {
    const entry = this.#entries.get(heartbeat.from);
    if (entry === undefined) {
      if (this.#entries.size >= this.#config.calculatorsMax) return { kind: "full" };
      this.#entries.set(heartbeat.from, {
        id: heartbeat.from,
        endpoint: from,
        boot: heartbeat.boot,
        seq: heartbeat.seq,
        capacity: heartbeat.capacity,
        reportedRunning: heartbeat.running,
        lastHeardMs: nowMs,
        isAlive: true,
        assigned: new SteadySet(),
        lastAssignedMs: Number.NEGATIVE_INFINITY,
        completedCount: 0,
        overlayRole: heartbeat.overlayRole,
        overlaySlots: heartbeat.overlaySlots,
        overlayParents: heartbeat.overlayParents,
      });
      return { kind: "registered" };
    }
    const isNewer = heartbeat.boot > entry.boot || (heartbeat.boot === entry.boot && heartbeat.seq > entry.seq);
    if (!isNewer) return { kind: "stale" };
    const wasAlive = entry.isAlive;
    const hasRestarted = heartbeat.boot !== entry.boot;
    entry.endpoint = from;
    entry.boot = heartbeat.boot;
    entry.seq = heartbeat.seq;
    entry.capacity = heartbeat.capacity;
    entry.reportedRunning = heartbeat.running;
    entry.lastHeardMs = nowMs;
    entry.isAlive = true;
    entry.overlayRole = heartbeat.overlayRole;
    entry.overlaySlots = heartbeat.overlaySlots;
    entry.overlayParents = heartbeat.overlayParents;
    if (hasRestarted) {
      const lostTasks = [...entry.assigned];
      entry.assigned.clear();
      return { kind: "restarted", lostTasks };
    }
    return wasAlive ? { kind: "refreshed" } : { kind: "recovered" };
  }

  /** Any valid packet from a registered calculator at its known address proves it is alive. */
  touch(nowMs: number, id: NodeId, from: Endpoint): CalculatorEntry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.endpoint.host !== from.host || entry.endpoint.port !== from.port) return undefined;
    if (entry.isAlive) entry.lastHeardMs = Math.max(entry.lastHeardMs, nowMs);
    return entry;
  }

  /**
   * The host's event loop did not run between `sinceMs` and `nowMs` (the shell saw a timer fire late):
   * datagrams that arrived after sinceMs may still wait unread. For STALL_DRAIN_MS from now, silence
   * is judged as of sinceMs. A stall reported while a hold is on widens it but does not lengthen it,
   * so back-to-back stalls cannot postpone deaths for ever.
   */
  noteStall(nowMs: number, sinceMs: number): void {
    assert(sinceMs <= nowMs, "a stall starts before it is noticed");
    const hold = this.#stallHold;
    if (hold !== undefined && nowMs < hold.untilMs) hold.sinceMs = Math.min(hold.sinceMs, sinceMs);
    else this.#stallHold = { sinceMs, untilMs: nowMs + STALL_DRAIN_MS };
  }

  /** The time (ms) silence is judged at: nowMs, or the start of a stall whose backlog may be unread. */
  #judgedAtMs(nowMs: number): number {
    const hold = this.#stallHold;
    if (hold === undefined || nowMs >= hold.untilMs) return nowMs;
    return Math.min(nowMs, hold.sinceMs);
  }

  /** Marks silent calculators dead and forgets long-silent ones; returns both lists. */
  expire(nowMs: number): { dead: CalculatorEntry[]; evicted: NodeId[] } {
    const dead: CalculatorEntry[] = [];
    const evicted: NodeId[] = [];
    const judgedAtMs = this.#judgedAtMs(nowMs);
    for (const entry of this.#entries.values()) {
      const silenceMs = nowMs - entry.lastHeardMs;
      if (entry.isAlive && judgedAtMs - entry.lastHeardMs > this.#config.heartbeatTimeoutMs) {
        entry.isAlive = false;
        dead.push(entry);
      } else if (!entry.isAlive && silenceMs > this.#config.evictAfterMs) {
        evicted.push(entry.id);
      }
    }
    for (const id of evicted) {
      this.#entries.delete(id);
      this.estimates.forget(id);
    }
    return { dead, evicted };
  }

  /**
   * When (ms) expire() next has something to do: a live calculator's silence passing
   * heartbeatTimeoutMs or a dead one's passing evictAfterMs. Infinity when the registry is empty.
   */
  nextExpiryMs(): number {
    let expiryMs = Number.POSITIVE_INFINITY;
    for (const entry of this.#entries.values()) {
      const silenceMaxMs = entry.isAlive ? this.#config.heartbeatTimeoutMs : this.#config.evictAfterMs;
      expiryMs = Math.min(expiryMs, entry.lastHeardMs + silenceMaxMs);
    }
    // During a stall hold, deaths wait for its end (early wakes are allowed, late ones are not).
    const untilMs = this.#stallHold?.untilMs ?? Number.NEGATIVE_INFINITY;
    return Math.max(expiryMs, untilMs);
  }

  /** A copy on `id` failed (timeout, death or restart holding it, outvoted, lost to its hedge). */
  recordFailure(nowMs: number, id: NodeId, cause: FailureCause): void {
    if (!this.#entries.has(id)) return;
    this.estimates.recordFailure(nowMs, id, cause);
  }

  /**
   * A copy on `id` returned a result `latencyMs` after it started: a success at once (`isSuccess`),
   * or, for a task that votes, only a latency sample until recordAgreed says the vote agreed.
   */
  recordResult(nowMs: number, id: NodeId, latencyMs: number, isSuccess: boolean): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    entry.completedCount += 1;
    if (isSuccess) this.estimates.recordSuccess(nowMs, id, latencyMs);
    else this.estimates.recordLatency(nowMs, id, latencyMs);
  }

  /** The quorum agreed with the result of `id` (its latency was recorded on arrival). */
  recordAgreed(nowMs: number, id: NodeId): void {
    if (this.#entries.has(id)) this.estimates.recordSuccess(nowMs, id);
  }

  /** Failure rate of `id` at nowMs, in [0, 1] (0 when unknown). */
  failureRate(nowMs: number, id: NodeId): number {
    return this.estimates.failureRate(nowMs, id);
  }

  /** Heard from within half its heartbeat timeout? A suspect calculator is alive but quiet. */
  isSuspect(nowMs: number, entry: CalculatorEntry): boolean {
    return entry.isAlive && nowMs - entry.lastHeardMs > this.#config.heartbeatTimeoutMs / 2;
  }

  /** Free slots by our own bookkeeping and by its last report, whichever is fewer. */
  freeSlots(entry: CalculatorEntry): number {
    return Math.max(0, entry.capacity - Math.max(entry.assigned.size, entry.reportedRunning));
  }

  /** Snapshot of the live calculators with a free slot, for a placement policy. */
  candidates(nowMs: number, exclude?: ReadonlySet<NodeId>): CalculatorView[] {
    const views: CalculatorView[] = [];
    for (const entry of this.#entries.values()) {
      if (!entry.isAlive || exclude?.has(entry.id)) continue;
      const freeSlots = this.freeSlots(entry);
      if (freeSlots === 0) continue;
      const estimate = this.estimates.view(nowMs, entry.id);
      views.push({
        id: entry.id,
        capacity: entry.capacity,
        freeSlots,
        failureRate: estimate.failureRate,
        latencyMs: estimate.latencyMs,
        isSuspect: this.isSuspect(nowMs, entry),
        lastAssignedMs: entry.lastAssignedMs,
      });
    }
    return views;
  }

  /** True when some live calculator has a free slot. */
  hasFreeSlot(): boolean {
    for (const entry of this.#entries.values()) if (entry.isAlive && this.freeSlots(entry) > 0) return true;
    return false;
  }
}
