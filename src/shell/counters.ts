/**
 * Named counters for a daemon: drops by reason, events by kind. Logged on shutdown and (in a later
 * release) exported as Prometheus metrics.
 */

/** A bag of monotonically increasing counters. BOUNDED: keys come from fixed code unions. */
export class Counters {
  readonly #values = new Map<string, number>();

  add(name: string, by = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.#values.get(name) ?? 0;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.#values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
