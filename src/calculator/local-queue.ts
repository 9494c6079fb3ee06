/**
 * The calculator's task table and local queue: starting tasks into free slots, and the overlay move
 * operations on the queue (reserve, commit, release, accept). Split out of core.ts to keep that file
 * under the house limit of ~300 lines; the functions work over an explicit CalculatorState owned by
 * CalculatorCore. Sans-IO like the core: time comes in as nowMs, randomness through the injected Rng,
 * effects go out as CalculatorOutput values.
 */

import type { MovedTask } from "../protocol/overlay-packets.js";
import type { TaskId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";
import type { BoundedMap } from "../runtime/bounded-map.js";
import { type Rng, randomBetween } from "../runtime/rng.js";
import type { Endpoint } from "../transport/transport.js";
import type { PendingArrivals } from "./arrivals.js";
import { ackOutput } from "./replies.js";
import type { CalculatorCoreConfig, CalculatorOutput, QueuedTask } from "./types.js";

/** A task in one of the calculator's slots. */
export interface RunningTask {
  readonly attempt: number;
  replyTo: Endpoint;
  /** The emulated computation ends at this time (ms). */
  readonly readyMs: number;
  /** The digest once the shell has computed it. */
  result: string | undefined;
  isCorrupt: boolean;
  /** When a `running` receipt is owed, unless the result is sent first. */
  ackDueMs: number | undefined;
}

/** A result kept to answer a repeated assign. */
export interface CachedResult {
  readonly attempt: number;
  readonly result: string;
}

/** The task state CalculatorCore shares with the queue and move functions below. */
export interface CalculatorState {
  readonly config: CalculatorCoreConfig;
  readonly rng: Rng;
  /** BOUNDED: config.capacity; assigns beyond it are refused with a `busy` ack. */
  readonly running: Map<TaskId, RunningTask>;
  /** BOUNDED: config.queueMax (with reserved); assigns beyond capacity + queueMax are refused with `busy`. */
  readonly queued: QueuedTask[];
  /** BOUNDED: taken from queued, so queued + reserved never exceed config.queueMax. */
  readonly reserved: Map<TaskId, QueuedTask>;
  /**
   * Tasks moved here that the dispatcher has not confirmed yet, each with the node it came from: never
   * started (nor offered on) until the dispatcher's assign confirms the move, dropped on its cancel or
   * when the announcement is given up. BOUNDED: counted with queued and reserved against config.queueMax.
   */
  readonly arrived: Map<TaskId, { readonly task: MovedTask; readonly giver: string; readonly sinceMs: number }>;
  /** BOUNDED: config.resultsCacheMax entries for config.resultsCacheTtlMs. */
  readonly results: BoundedMap<TaskId, CachedResult>;
  /** Tasks the overlay moved away, and to whom. BOUNDED: resultsCacheMax for resultsCacheTtlMs. */
  readonly movedTo: BoundedMap<TaskId, string>;
  /** Arrival announcements not yet confirmed by the dispatcher (arrivals.ts). */
  readonly arrivals: PendingArrivals;
  /** No running task needs a tick before this (ms): lowered as deadlines are set, made exact by onTick. */
  runningWakeMs: number;
}

/** Puts `task` in a slot with an emulated compute time; the shell is asked to compute its digest. */
export function start(state: CalculatorState, nowMs: number, task: QueuedTask): CalculatorOutput[] {
  const computeMs = Math.round(randomBetween(state.rng, state.config.computeMs.min, state.config.computeMs.max));
  const ackDueMs = nowMs + state.config.ackDelayMs;
  state.running.set(task.taskId, {
    attempt: task.attempt,
    replyTo: task.replyTo,
    readyMs: nowMs + computeMs,
    result: undefined,
    isCorrupt: false,
    ackDueMs,
  });
  state.runningWakeMs = Math.min(state.runningWakeMs, ackDueMs);
  return [
    { kind: "task_started", taskId: task.taskId, computeMs },
    { kind: "compute", taskId: task.taskId, input: task.input, rounds: task.rounds },
  ];
}

/** Starts queued tasks while slots are free (oldest first). */
export function startQueued(state: CalculatorState, nowMs: number, outputs: CalculatorOutput[]): void {
  while (state.running.size < state.config.capacity && state.queued.length > 0) {
    outputs.push(...start(state, nowMs, state.queued.shift() as QueuedTask));
  }
}

/** True when the local queue (queued and reserved tasks) has no room left. */
export function isQueueFull(state: CalculatorState): boolean {
  return state.queued.length + state.reserved.size + state.arrived.size >= state.config.queueMax;
}

/** True when `taskId` is queued or reserved for a move here. */
export function isQueued(state: CalculatorState, taskId: TaskId): boolean {
  return state.reserved.has(taskId) || state.queued.some((task) => task.taskId === taskId);
}

/** True when this calculator holds `taskId`: running, queued, reserved, arrived unconfirmed, or recently answered. */
export function holds(state: CalculatorState, nowMs: number, taskId: TaskId): boolean {
  return (
    state.running.has(taskId) ||
    isQueued(state, taskId) ||
    state.arrived.has(taskId) ||
    state.results.has(nowMs, taskId)
  );
}

/**
 * Reserves up to `countMax` queued (never running) tasks for a move, newest first so the oldest
 * keep their place here. Fewer, even none, when tasks started meanwhile: the move adapts.
 */
export function reserveQueued(state: CalculatorState, countMax: number): MovedTask[] {
  assert(countMax >= 0, "cannot reserve a negative number of tasks");
  const taken = state.queued.splice(Math.max(0, state.queued.length - countMax), countMax);
  for (const task of taken) state.reserved.set(task.taskId, task);
  return taken.map(({ taskId, input, rounds }) => ({ taskId, input, rounds }));
}

/** The receiver `holder` accepted these reserved tasks: they are its now; probes are pointed there. */
export function commitMoved(state: CalculatorState, nowMs: number, taskIds: readonly TaskId[], holder: string): void {
  for (const taskId of taskIds) {
    if (state.reserved.delete(taskId)) state.movedTo.set(nowMs, taskId, holder);
  }
}

/** The receiver refused these reserved tasks: back to the queue (started at once if a slot is free). */
export function releaseReserved(state: CalculatorState, nowMs: number, taskIds: readonly TaskId[]): CalculatorOutput[] {
  for (const taskId of taskIds) {
    const task = state.reserved.get(taskId);
    if (task === undefined) continue;
    state.reserved.delete(taskId);
    state.queued.push(task);
  }
  const outputs: CalculatorOutput[] = [];
  startQueued(state, nowMs, outputs);
  return outputs;
}

/**
 * Accepts tasks moved here by the overlay from `giver`, idempotently by id (a task already held counts
 * as accepted). Each accepted task is HELD, not queued: the dispatcher is told this node holds it now
 * (`task.ack` moved, holder = this node, `giver`), until it answers. Its assign confirms the move and
 * queues or starts the task (`confirmArrived`); its cancel (the task is finished, unknown, or placed
 * elsewhere since: a stale offer) drops it. A giver cut off and declared dead may resend an offer after
 * the dispatcher placed its tasks elsewhere; started at once, such a task ran twice. Beyond the queue's
 * room: refused.
 */
export function acceptIncoming(
  state: CalculatorState,
  nowMs: number,
  tasks: readonly MovedTask[],
  giver: string,
): { accepted: TaskId[]; refused: TaskId[]; outputs: CalculatorOutput[] } {
  const outputs: CalculatorOutput[] = [];
  const accepted: TaskId[] = [];
  const refused: TaskId[] = [];
  for (const task of tasks) {
    if (holds(state, nowMs, task.taskId)) {
      accepted.push(task.taskId);
      continue;
    }
    if (isQueueFull(state)) {
      refused.push(task.taskId);
      continue;
    }
    state.movedTo.delete(task.taskId);
    state.arrived.set(task.taskId, { task, giver, sinceMs: nowMs });
    accepted.push(task.taskId);
    announceArrival(state, nowMs, task.taskId, giver, outputs);
  }
  return { accepted, refused, outputs };
}

/**
 * The dispatcher confirmed an arrived task (its assign, `attempt`, answered to `replyTo`): it leaves
 * the arrivals and is returned to be queued or started like any assign. Undefined when not arrived.
 */
export function confirmArrived(state: CalculatorState, taskId: TaskId): MovedTask | undefined {
  const arrived = state.arrived.get(taskId);
  if (arrived === undefined) return undefined;
  state.arrived.delete(taskId);
  return arrived.task;
}

/**
 * Tells the dispatcher this node holds `taskId` now, moved from `giver` (`task.ack` moved, holder =
 * this node), and keeps telling it until the dispatcher answers with an assign or cancel (arrivals.ts).
 */
export function announceArrival(
  state: CalculatorState,
  nowMs: number,
  taskId: TaskId,
  giver: string,
  outputs: CalculatorOutput[],
): void {
  const { config } = state;
  outputs.push(ackOutput(config.nodeId, config.dispatcher, taskId, "moved", config.nodeId, undefined, giver));
  state.arrivals.add(nowMs, taskId);
}

/**
 * Resends the arrival announcements due now, for tasks still arrived unconfirmed here. An arrival whose
 * announcement is given up (no answer after its last resend) is dropped: the dispatcher places it,
 * and an assign that follows the move later carries the task anyway.
 */
export function resendArrivals(state: CalculatorState, nowMs: number, outputs: CalculatorOutput[]): void {
  const { config } = state;
  for (const { taskId, isLast } of state.arrivals.due(nowMs)) {
    const arrived = state.arrived.get(taskId);
    if (arrived === undefined) {
      state.arrivals.confirm(taskId); // confirmed, moved on or forgotten: nothing to announce
      continue;
    }
    outputs.push(ackOutput(config.nodeId, config.dispatcher, taskId, "moved", config.nodeId, undefined, arrived.giver));
    if (isLast) state.arrived.delete(taskId);
  }
}
