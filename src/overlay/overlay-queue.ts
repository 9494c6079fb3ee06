/**
 * What an overlay node needs from its calculator: its slots, its queued load, and the
 * reserve/commit/release/accept operations of a task move (see move.ts). CalculatorCore provides
 * them; the daemon applies any outputs (acks to the dispatcher, started tasks) they produce.
 */
import type { MovedTask } from "../protocol/overlay-packets.js";

/** The calculator's local queue as the overlay uses it. */
export interface OverlayQueue {
  /** Parallel tasks of this node (its topology slots). */
  readonly slots: number;
  /** Queued tasks that could move (running and reserved ones never do). */
  queuedCount(): number;
  reserveQueued(countMax: number): MovedTask[];
  commitMoved(nowMs: number, taskIds: readonly string[], holder: string): void;
  releaseReserved(nowMs: number, taskIds: readonly string[]): void;
  /** Takes tasks moved here from `giver` (a calculator holds them until the dispatcher confirms). */
  acceptIncoming(nowMs: number, tasks: readonly MovedTask[], giver: string): { accepted: string[]; refused: string[] };
}
