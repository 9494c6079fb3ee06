/**
 * The end of an event-loop turn, made explicit for simulations: hosts schedule their send flushes
 * here (see SendBatcher) and the simulation runs them after each round of deliveries and ticks, in
 * the order they were scheduled, so batching is exercised deterministically.
 */
import type { FlushScheduler } from "../shell/send-batcher.js";

/** Flushes waiting for the end of the current simulated turn. */
export class TurnEnds {
  /** BOUNDED: one entry per host with packets held (each host schedules at most once per turn). */
  #due: (() => void)[] = [];

  /** The scheduler to hand to hosts. */
  readonly schedule: FlushScheduler = (flush) => {
    this.#due.push(flush);
  };

  /** Ends the turn: runs every flush scheduled so far (flushes scheduled meanwhile run too). */
  run(): void {
    while (this.#due.length > 0) {
      const due = this.#due;
      this.#due = [];
      for (const flush of due) flush();
    }
  }
}
