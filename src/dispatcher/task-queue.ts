/**
 * Tasks waiting for copies to be placed, highest priority first and oldest (by arrival at the
 * dispatcher) first within a priority (SPEC 8). A task that already had a copy (it lost one, or still
 * needs replicas) goes back by the same rule: ahead of every later arrival of its priority, which in
 * practice is the front of its priority, but never ahead of a higher priority. Pure bookkeeping;
 * TaskTable owns it.
 */
import type { TaskId } from "../protocol/packets.js";

/** What the queue needs of a task. */
export interface QueuedEntry {
  readonly taskId: TaskId;
  readonly priority: number;
  /** When (ms) the task arrived at the dispatcher: the order within one priority. */
  readonly arrivedMs: number;
}

/** True when `a` must be placed before `b`. */
function goesBefore(a: QueuedEntry, b: QueuedEntry): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.arrivedMs < b.arrivedMs);
}

/** Priority FIFO of tasks; a task is in it at most once. */
export class TaskQueue<T extends QueuedEntry = QueuedEntry> {
  /** BOUNDED: by the dispatcher's tasksMax (every queued task is also in its task table). */
  readonly #items: T[] = [];
  /** BOUNDED: mirrors #items. */
  readonly #ids = new Set<TaskId>();

  get size(): number {
    return this.#items.length;
  }

  has(taskId: TaskId): boolean {
    return this.#ids.has(taskId);
  }

  /**
   * Adds behind every task of a higher priority and every earlier arrival of the same one (ties in
   * arrival: behind those queued already). No-op when queued already.
   */
  enqueue(task: T): void {
    if (this.#ids.has(task.taskId)) return;
    let index = this.#items.length;
    while (index > 0 && goesBefore(task, this.#items[index - 1] as T)) index -= 1;
    this.#items.splice(index, 0, task);
    this.#ids.add(task.taskId);
  }

  dequeue(): T | undefined {
    const task = this.#items.shift();
    if (task !== undefined) this.#ids.delete(task.taskId);
    return task;
  }

  remove(taskId: TaskId): void {
    if (!this.#ids.delete(taskId)) return;
    const index = this.#items.findIndex((task) => task.taskId === taskId);
    if (index >= 0) this.#items.splice(index, 1);
  }

  /** The queued tasks in order, as a copy (safe to change the queue while walking it). */
  snapshot(): T[] {
    return [...this.#items];
  }
}
