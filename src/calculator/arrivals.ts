/**
 * An overlay receiver's arrival announcements (`task.ack` moved, holder = itself, giver), resent until
 * the dispatcher answers (an assign confirms the move, a cancel refuses it); the task is held unstarted
 * meanwhile (local-queue.ts `acceptIncoming`). One lost
 * announcement must not decide where a task runs: if the giver dies right after committing a move and
 * the dispatcher never heard the receiver's claim, it places the task again elsewhere while the
 * receiver runs it (overlay fault seeds 1247, 1713, 1731, 1943 before this). The announcement is also
 * dropped while the dispatcher does not know the receiver yet (its first heartbeat lost or late).
 * Pure bookkeeping: the calculator core sends; time comes in as nowMs.
 */
import type { TaskId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";

/** Resends of an arrival announcement are this far apart at first (ms). */
export const ARRIVAL_RESEND_FIRST_MS = 50;
/** Resends at the first interval before backing off (doubling). */
export const ARRIVAL_RESENDS_FAST = 10;
/** Resends of one announcement are at most this far apart (ms). */
export const ARRIVAL_RESEND_MAX_MS = 800;
/** Resends of one announcement at most (the last 3.6 s after the first send), then it is given up. */
export const ARRIVAL_RESENDS_MAX = 16;

interface Pending {
  dueMs: number;
  delayMs: number;
  resendsLeft: number;
}

/** Unconfirmed arrival announcements, by task. */
export class PendingArrivals {
  /** BOUNDED: entriesMax (the node's slots + queueMax); the oldest is given up when full. */
  readonly #pending = new Map<TaskId, Pending>();
  readonly #entriesMax: number;
  #wakeMs = Number.POSITIVE_INFINITY;

  constructor(entriesMax: number) {
    assert(entriesMax >= 1, "at least one pending arrival");
    this.#entriesMax = entriesMax;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** The earliest resend due (ms), Infinity when none. */
  get wakeMs(): number {
    return this.#wakeMs;
  }

  /** `taskId` was just announced: resend it until confirmed. */
  add(nowMs: number, taskId: TaskId): void {
    this.#pending.delete(taskId);
    if (this.#pending.size >= this.#entriesMax) {
      const oldest = this.#pending.keys().next().value as TaskId;
      this.#pending.delete(oldest);
    }
    const dueMs = nowMs + ARRIVAL_RESEND_FIRST_MS;
    this.#pending.set(taskId, { dueMs, delayMs: ARRIVAL_RESEND_FIRST_MS, resendsLeft: ARRIVAL_RESENDS_MAX });
    this.#wakeMs = Math.min(this.#wakeMs, dueMs);
  }

  /** The dispatcher spoke about `taskId` (assign or cancel): it follows the move; stop resending. */
  confirm(taskId: TaskId): void {
    this.#pending.delete(taskId);
  }

  /** Announcements due for a resend now (each rescheduled, or given up after its last resend: `isLast`). */
  due(nowMs: number): { taskId: TaskId; isLast: boolean }[] {
    if (nowMs < this.#wakeMs) return [];
    const out: { taskId: TaskId; isLast: boolean }[] = [];
    let wakeMs = Number.POSITIVE_INFINITY;
    for (const [taskId, pending] of this.#pending) {
      if (pending.dueMs <= nowMs) {
        pending.resendsLeft -= 1;
        out.push({ taskId, isLast: pending.resendsLeft <= 0 });
        if (pending.resendsLeft <= 0) {
          this.#pending.delete(taskId);
          continue;
        }
        // Fast while the giver's fate may be decided any moment (it may restart right away), then slower.
        if (ARRIVAL_RESENDS_MAX - pending.resendsLeft >= ARRIVAL_RESENDS_FAST)
          pending.delayMs = Math.min(pending.delayMs * 2, ARRIVAL_RESEND_MAX_MS);
        pending.dueMs = nowMs + pending.delayMs;
      }
      wakeMs = Math.min(wakeMs, pending.dueMs);
    }
    this.#wakeMs = wakeMs;
    return out;
  }
}
