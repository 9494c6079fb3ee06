/**
 * Tasks waiting for a free calculator, highest priority first and oldest first within a priority.
 * A task taken back from a calculator goes to the very front: it has waited longest of all.
 */
import type { NodeId, TaskId } from "../protocol/packets.js";
import type { Endpoint } from "../transport/transport.js";

/** The live copy of a task: where it runs and when it is given up on. */
export interface TaskCopy {
  readonly calculatorId: NodeId;
  readonly attempt: number;
  /** When this copy is abandoned and the task placed again (taskTimeoutMs after assignment). */
  readonly timeoutMs: number;
  isAcked: boolean;
}

/** One task the dispatcher owns until its final answer. */
export interface TaskEntry {
  readonly taskId: TaskId;
  client: Endpoint;
  readonly input: string;
  readonly rounds: number;
  readonly priority: number;
  readonly arrivedMs: number;
  /** arrivedMs + queueTimeoutMs: the task is failed with `timeout` at this time. */
  readonly deadlineMs: number;
  attempts: number;
  copy: TaskCopy | undefined;
  /** Calculators that were given this task; only they may answer it. BOUNDED: by the calculators
   *  that exist, since a task is never assigned twice at once and each attempt adds one id. */
  readonly attemptedBy: Set<NodeId>;
}

/** Priority FIFO of tasks. */
export class TaskQueue {
  /** BOUNDED: by the dispatcher's tasksMax (every queued task is also in its task table). */
  readonly #items: TaskEntry[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** Adds behind every task of the same or higher priority. */
  enqueue(task: TaskEntry): void {
    let index = this.#items.length;
    while (index > 0 && (this.#items[index - 1] as TaskEntry).priority < task.priority) index -= 1;
    this.#items.splice(index, 0, task);
  }

  /** Puts a task that lost its calculator at the very front. */
  requeueFirst(task: TaskEntry): void {
    this.#items.unshift(task);
  }

  dequeue(): TaskEntry | undefined {
    return this.#items.shift();
  }

  remove(taskId: TaskId): void {
    const index = this.#items.findIndex((task) => task.taskId === taskId);
    if (index >= 0) this.#items.splice(index, 1);
  }
}
