/**
 * A node's tasks in the overlay simulation and tests: queued, running or reserved for a move. It
 * implements {@link MoveQueue}; the calculator's real queue does the same over its own storage. Pure.
 */
import type { MovedTask } from "../protocol/overlay-packets.js";
import { assert } from "../runtime/assert.js";
import type { MoveQueue } from "./move.js";

/** Where a task stands on this node. */
export type TaskState = "queued" | "running" | "reserved";

interface Held {
  readonly task: MovedTask;
  state: TaskState;
}

/** Tasks held by one node, in arrival order. */
export class TaskQueue implements MoveQueue {
  /** BOUNDED: tasksMax; acceptIncoming refuses beyond it. */
  readonly #tasks = new Map<string, Held>();
  readonly #tasksMax: number;

  constructor(tasksMax: number, initial: readonly MovedTask[] = []) {
    assert(Number.isInteger(tasksMax) && tasksMax > 0, "tasksMax must be a positive integer");
    assert(initial.length <= tasksMax, "more initial tasks than tasksMax");
    this.#tasksMax = tasksMax;
    for (const task of initial) this.#tasks.set(task.taskId, { task, state: "queued" });
  }

  /** Tasks in `state`. */
  count(state: TaskState): number {
    let n = 0;
    for (const held of this.#tasks.values()) if (held.state === state) n += 1;
    return n;
  }

  /** Every task id this node holds (any state). */
  taskIds(): string[] {
    return [...this.#tasks.keys()];
  }

  stateOf(taskId: string): TaskState | undefined {
    return this.#tasks.get(taskId)?.state;
  }

  /** Starts the oldest queued task (a slot became free); returns its id. Reserved tasks never start. */
  startNext(): string | undefined {
    for (const [taskId, held] of this.#tasks) {
      if (held.state === "queued") {
        held.state = "running";
        return taskId;
      }
    }
    return undefined;
  }

  /** A running task finished: it leaves the node. */
  finish(taskId: string): void {
    const held = this.#tasks.get(taskId);
    assert(held?.state === "running", `finish of ${taskId}, which is not running`);
    this.#tasks.delete(taskId);
  }

  reserveQueued(countMax: number): MovedTask[] {
    const out: MovedTask[] = [];
    // Newest first: the oldest queued tasks keep their place in line on this node.
    for (const held of [...this.#tasks.values()].reverse()) {
      if (out.length >= countMax) break;
      if (held.state === "queued") {
        held.state = "reserved";
        out.push(held.task);
      }
    }
    return out;
  }

  commitMoved(taskIds: readonly string[]): void {
    for (const taskId of taskIds) {
      assert(this.#tasks.get(taskId)?.state === "reserved", `commit of ${taskId}, which is not reserved`);
      this.#tasks.delete(taskId);
    }
  }

  releaseReserved(taskIds: readonly string[]): void {
    for (const taskId of taskIds) {
      const held = this.#tasks.get(taskId);
      assert(held?.state === "reserved", `release of ${taskId}, which is not reserved`);
      held.state = "queued";
    }
  }

  acceptIncoming(tasks: readonly MovedTask[]): { accepted: string[]; refused: string[] } {
    const accepted: string[] = [];
    const refused: string[] = [];
    for (const task of tasks) {
      if (this.#tasks.has(task.taskId)) {
        accepted.push(task.taskId);
      } else if (this.#tasks.size < this.#tasksMax) {
        this.#tasks.set(task.taskId, { task, state: "queued" });
        accepted.push(task.taskId);
      } else {
        refused.push(task.taskId);
      }
    }
    return { accepted, refused };
  }
}
