/**
 * The journal's group commit: records gather while turns run and leave as one batch; the client
 * packets held behind them leave once every batch up to theirs is durable, in the order they were
 * held. With a writer thread (JournalAsyncWriter) one batch is in flight at a time (IN_FLIGHT_MAX)
 * and the dispatcher's thread never waits for the disk: the turns that run while a batch is fsynced
 * gather the next one, which leaves when the first is durable, so the batch grows with the disk's
 * latency. Without one, the store commits on this thread at the end of each turn. A failed batch
 * (disk full, I/O error) is kept with everything held behind it and tried again later; nothing it
 * held leaves before it is stored.
 */
import type { DispatcherOutput } from "../dispatcher/types.js";
import { assert } from "../runtime/assert.js";
import type { JournalAsyncWriter, JournalRecord, JournalStore, JournalWriteFailure } from "./journal-store.js";

/** What the pipeline needs from outside; all time and scheduling is injected. */
export interface CommitPipelineDeps {
  readonly store: JournalStore;
  readonly writer?: JournalAsyncWriter;
  /** Monotonic clock (ms) for commit latency. */
  readonly monoMs: () => number;
  /** Runs the turn's commit at the end of the turn (daemons: setImmediate). */
  readonly scheduleCommit: (commit: () => void) => void;
  /** Runs a failed commit again later (daemons: a timer). */
  readonly retryLater: (retry: () => void) => void;
  /** Bound on held packets, and (checked by the gate) on records not yet stored. */
  readonly pendingRecordsMax: number;
  readonly onWriteFailure: (failure: JournalWriteFailure) => void;
  readonly onWriteRecovered: () => void;
}

/** Records handed to the store together, and the packets that leave once they (and all before) are durable. */
interface Batch {
  records: JournalRecord[];
  held: DispatcherOutput[];
  readonly heldKeys: Set<string>;
  /** When it left for the store (monotonic ms). */
  startedMs: number;
}

/**
 * Batches sent to the store and not yet durable, at most. One: the turns that run while it is fsynced
 * gather the next batch, sent when it is durable, so a batch grows with the disk's latency. (Sending
 * every turn's batch at once, merged by the writer thread, measured no faster on this machine and
 * cost the dispatcher more CPU per task in messages.)
 */
export const IN_FLIGHT_MAX = 1;
/** Commit latencies kept for reports. BOUNDED: the last COMMIT_SAMPLES_MAX commits. */
export const COMMIT_SAMPLES_MAX = 8_192;

const newBatch = (): Batch => ({ records: [], held: [], heldKeys: new Set(), startedMs: 0 });

/** See the file comment. */
export class CommitPipeline {
  readonly #deps: CommitPipelineDeps;
  #writer: JournalAsyncWriter | undefined;
  /** Records and packets of the next batch. BOUNDED: records by the gate's refusals, packets by #hold. */
  #open: Batch = newBatch();
  /** Index in #open.records of each task record, so its answer can replace it. BOUNDED: as #open.records. */
  readonly #taskAt = new Map<string, number>();
  /** Batches the store is making durable, oldest first. BOUNDED: IN_FLIGHT_MAX; their records count in unstoredCount. */
  readonly #inFlight: Batch[] = [];
  /** A failed batch, with what was held behind it, waiting for its retry. */
  #retry: Batch | undefined;
  #isScheduled = false;
  #failure: JournalWriteFailure | undefined;
  /** Called once nothing is unstored or held, or the store cannot write. BOUNDED: one per stop. */
  readonly #drainWaiters: (() => void)[] = [];
  /** Performs released packets (the shell sets it to CoreHost.apply). */
  release: (outputs: readonly DispatcherOutput[]) => void = () => {};
  commitCount = 0;
  recordCount = 0;
  droppedHeldCount = 0;
  /** Commit latencies (ms, from a batch leaving to it being durable), a ring. BOUNDED: COMMIT_SAMPLES_MAX. */
  readonly commitSamplesMs: number[] = [];

  constructor(deps: CommitPipelineDeps) {
    this.#deps = deps;
    this.#writer = deps.writer;
  }

  /** Why the journal refuses writes now, if it does. */
  get failure(): JournalWriteFailure | undefined {
    return this.#failure;
  }

  /** Records not yet durable: gathering, in flight, or waiting for a retry. */
  get unstoredCount(): number {
    let count = this.#open.records.length + (this.#retry?.records.length ?? 0);
    for (const batch of this.#inFlight) count += batch.records.length;
    return count;
  }

  /** True when a client packet may leave at once: nothing is unstored or held before it. */
  get isIdle(): boolean {
    return (
      this.#open.records.length === 0 &&
      this.#open.held.length === 0 &&
      this.#inFlight.length === 0 &&
      this.#retry === undefined
    );
  }

  /** From now on commits go to `writer`. */
  attachWriter(writer: JournalAsyncWriter): void {
    assert(this.#inFlight.length === 0, "a writer is attached between batches");
    this.#writer = writer;
  }

  /** Adds a record to the next batch; an answer replaces its task's record there (one row says all). */
  add(record: JournalRecord): void {
    const records = this.#open.records;
    if (record.kind === "task") {
      this.#taskAt.set(record.task.taskId, records.length);
      records.push(record);
      return;
    }
    const at = this.#taskAt.get(record.final.taskId);
    this.#taskAt.delete(record.final.taskId);
    if (at === undefined) records.push(record);
    else records[at] = record;
  }

  /** Holds a client packet until every record added before it is durable; `key` drops a duplicate. */
  hold(output: DispatcherOutput, key: string): void {
    let heldCount = this.#open.held.length;
    let oldest: Batch | undefined = this.#open.held.length > 0 ? this.#open : undefined;
    if (key !== "" && this.#open.heldKeys.has(key)) return;
    // Newest first, so `oldest` ends at the oldest batch that holds anything.
    for (let i = this.#inFlight.length - 1; i >= -1; i -= 1) {
      const batch = i === -1 ? this.#retry : this.#inFlight[i];
      if (batch === undefined) continue;
      if (key !== "" && batch.heldKeys.has(key)) return;
      heldCount += batch.held.length;
      if (batch.held.length > 0) oldest = batch;
    }
    if (key !== "") this.#open.heldKeys.add(key);
    if (heldCount >= this.#deps.pendingRecordsMax && oldest !== undefined) {
      // The client resends; its receipt or answer is given again then. Never sent unstored.
      oldest.held.shift();
      this.droppedHeldCount += 1;
    }
    this.#open.held.push(output);
  }

  /** Asks for the end-of-turn commit if anything gathered. */
  schedule(): void {
    const hasWork = this.#open.records.length > 0 || this.#open.held.length > 0;
    if (hasWork && !this.#isScheduled) {
      this.#isScheduled = true;
      this.#deps.scheduleCommit(() => this.commit());
    }
  }

  /**
   * Ends the turn: the gathered records leave as a batch, unless a batch is in flight (its completion
   * sends them) or a failed batch waits for its retry; packets held behind no record leave now if
   * nothing is in flight.
   */
  commit(): void {
    this.#isScheduled = false;
    if (this.#inFlight.length < IN_FLIGHT_MAX && this.#retry === undefined) this.#send();
  }

  /** Resolves once nothing is unstored or held, or at once while the store cannot write. */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.#drainWaiters.push(resolve);
      this.#checkDrained();
    });
  }

  #send(): void {
    const open = this.#open;
    this.#open = newBatch();
    this.#taskAt.clear();
    if (open.records.length === 0) {
      const newest = this.#inFlight.at(-1);
      if (newest === undefined) this.#release(open.held);
      else this.#follow(newest, open);
      this.#checkDrained();
      return;
    }
    const batch = open;
    batch.startedMs = this.#deps.monoMs();
    this.#inFlight.push(batch);
    const done = (failure: JournalWriteFailure | undefined): void => this.#onStored(batch, failure);
    if (this.#writer !== undefined) this.#writer.commit(batch.records, done);
    else done(this.#deps.store.commit(batch.records));
  }

  /** `later`'s packets leave after `earlier`'s (and its records, if any, are stored with them). */
  #follow(earlier: Batch, later: Batch): void {
    earlier.records = [...earlier.records, ...later.records];
    earlier.held = [...earlier.held, ...later.held];
    for (const key of later.heldKeys) earlier.heldKeys.add(key);
  }

  /** The oldest batch in flight is durable (release what waited for it) or failed (keep it for a retry). */
  #onStored(batch: Batch, failure: JournalWriteFailure | undefined): void {
    assert(this.#inFlight[0] === batch, "batches complete in the order they were sent");
    this.#inFlight.shift();
    if (failure === undefined) {
      this.#recordSample(this.#deps.monoMs() - batch.startedMs);
      this.commitCount += 1;
      this.recordCount += batch.records.length;
    }
    if (this.#retry !== undefined) {
      // Behind a failed batch: stored or not, its packets wait for the retry, and so do its records if not.
      this.#follow(this.#retry, failure === undefined ? { ...batch, records: [] } : batch);
    } else if (failure !== undefined) {
      this.#retry = batch;
      if (this.#failure === undefined) this.#deps.onWriteFailure(failure);
      this.#failure = failure;
      this.#deps.retryLater(() => this.#retryNow());
    } else {
      if (this.#failure !== undefined) {
        this.#failure = undefined;
        this.#deps.onWriteRecovered();
      }
      this.#release(batch.held);
      // What gathered meanwhile leaves now (or, held behind no record, is released).
      if (this.#inFlight.length < IN_FLIGHT_MAX) this.#send();
    }
    this.#checkDrained();
  }

  /** Sends the failed batch again, with what gathered since, once every batch sent before it has answered. */
  #retryNow(): void {
    const failed = this.#retry;
    if (failed === undefined) return;
    if (this.#inFlight.length > 0) {
      this.#deps.retryLater(() => this.#retryNow());
      return;
    }
    this.#retry = undefined;
    this.#follow(failed, this.#open);
    this.#open = failed;
    this.#send();
  }

  #release(outputs: DispatcherOutput[]): void {
    if (outputs.length > 0) this.release(outputs);
  }

  #checkDrained(): void {
    if (this.#drainWaiters.length === 0 || (!this.isIdle && this.#failure === undefined)) return;
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  #recordSample(ms: number): void {
    if (this.commitSamplesMs.length >= COMMIT_SAMPLES_MAX) this.commitSamplesMs.splice(0, COMMIT_SAMPLES_MAX / 2);
    this.commitSamplesMs.push(ms);
  }
}
