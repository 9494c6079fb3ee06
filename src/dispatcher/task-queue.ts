/**
 * Tasks waiting for copies to be placed, highest priority first and oldest first within a priority.
 * A task that already had a copy (it lost one, or still needs replicas) goes to the very front: it
 * has waited longest of all. Pure bookkeeping; TaskTable owns it.
 */
import type { TaskId } from "../protocol/packets.js";

/** What the queue needs of a task. */
export interface QueuedEntry {
  readonly taskId: TaskId;
  readonly priority: number;
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

  /** Adds behind every task of the same or higher priority (no-op when queued already). */
  enqueue(task: T): void {
    if (this.#ids.has(task.taskId)) return;
    let index = this.#items.length;
    while (index > 0 && (this.#items[index - 1] as T).priority < task.priority) index -= 1;
    this.#items.splice(index, 0, task);
    this.#ids.add(task.taskId);
  }

  /** Puts a task that lost its calculator at the very front (moves it there if queued already). */
  requeueFirst(task: T): void {
    if (this.#ids.has(task.taskId)) this.remove(task.taskId);
    this.#items.unshift(task);
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
