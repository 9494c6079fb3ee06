/**
 * What the dispatcher's journal needs from a storage engine: durable batches of task and final-answer
 * records keyed by task id, a load for recovery, expiry of old answers, and checkpoints. One
 * implementation today (`sqlite-store.ts`, SQLite through `libsql`); a move to another engine (for
 * example Node 22's `node:sqlite`) is one new file behind this interface. See docs/JOURNAL.md.
 */

/** A task as it was accepted: enough to run it again after a restart. */
export interface JournaledTask {
  readonly taskId: string;
  readonly clientHost: string;
  readonly clientPort: number;
  /** The submitter's node id: only it may cancel or resubmit the task (absent in older records). */
  readonly clientId?: string;
  readonly input: string;
  readonly rounds: number;
  readonly priority: number;
  /** The submit's own bound (ms after arrival) to the final answer, if it gave one (SPEC 8). */
  readonly deadlineMs?: number;
  /** Wall-clock time (ms since the epoch) the task arrived at the dispatcher. */
  readonly arrivedWallMs: number;
  /** A task of a `cluster spread` batch: no packet goes to a client; its answer is fetched by id. */
  readonly isSilent?: boolean;
}

/** A final answer as it was sent: the packet's JSON text and when (wall clock, ms) it was given. */
export interface JournaledFinal {
  readonly taskId: string;
  readonly packetJson: string;
  readonly answeredWallMs: number;
}

/** One record to make durable: a task accepted, or a task's final answer. */
export type JournalRecord =
  | { readonly kind: "task"; readonly task: JournaledTask }
  | { readonly kind: "final"; readonly final: JournaledFinal };

/** What a load found: unfinished tasks, final answers, and what it had to skip (never fatal). */
export interface JournalContents {
  /** Tasks accepted and not yet answered, in arrival order. */
  readonly unfinished: JournaledTask[];
  /** Final answers still kept, oldest first. */
  readonly finals: JournaledFinal[];
  /** Records that failed their checksum or could not be read (damage), skipped. */
  readonly skippedCount: number;
  /** Human-readable notes on damage found and what was done about it (empty when clean). */
  readonly damage: string[];
}

/** Why a write failed (`full`: disk or journal.maxBytes full; `io`: any other I/O error). */
export type JournalWriteFailure = { readonly code: "full" | "io"; readonly message: string };

/**
 * The write half of a store, on a journal a {@link JournalStore} has already checked and loaded. It
 * runs in the journal's writer thread (journal-thread.ts), with a connection of its own, so the
 * dispatcher's thread never waits for the disk. Synchronous: the thread does one thing at a time.
 */
export interface JournalWriter {
  /** Makes `records` durable as one transaction; on failure nothing of the batch is stored. */
  commit(records: readonly JournalRecord[]): JournalWriteFailure | undefined;
  /** As {@link JournalStore.expire}. */
  expire(beforeWallMs: number, finalsMax: number): number;
  /** As {@link JournalStore.checkpoint}. */
  checkpoint(): void;
  close(): void;
}

/**
 * How a writer thread opens a store's {@link JournalWriter}: it imports `moduleUrl`, which exports
 * `openJournalWriter(options)`. Keeps the engine in one file: the thread knows no engine.
 */
export interface JournalWriterSpec {
  readonly moduleUrl: string;
  /** Passed to `openJournalWriter` (structured-cloned into the thread). */
  readonly options: unknown;
}

/** What a maintenance round did: answered tasks expired, or why it failed (it is tried again). */
export type JournalMaintenance = { readonly expired: number } | { readonly error: string };

/**
 * Commits off the dispatcher's thread (journal-thread.ts; a fake in tests). The gate keeps at most
 * one commit outstanding; `done` runs once, on the caller's thread, when the batch is durable (no
 * failure) or nothing of it is stored (a failure). Maintenance runs in order after commits sent before it.
 */
export interface JournalAsyncWriter {
  commit(records: readonly JournalRecord[], done: (failure: JournalWriteFailure | undefined) => void): void;
  /** Expires answers as {@link JournalStore.expire}, then checkpoints. */
  maintain(beforeWallMs: number, finalsMax: number, done: (result: JournalMaintenance) => void): void;
  /** Finishes what was sent, closes the connection and ends the thread. */
  close(): Promise<void>;
  /** Time spent storing each recent commit (ms), without the trip to and from the thread; for reports. */
  readonly storeSamplesMs?: readonly number[];
}

/** A durable, bounded store of journal records. Every method is synchronous (load, checks, unit tests). */
export interface JournalStore {
  /** Reads everything back (recovery); damaged records are skipped and reported, never thrown. */
  load(): JournalContents;
  /** Makes `records` durable as one transaction; on failure nothing of the batch is stored. */
  commit(records: readonly JournalRecord[]): JournalWriteFailure | undefined;
  /**
   * Forgets answered tasks whose answer is older than `beforeWallMs`, and the oldest answers beyond
   * `finalsMax`; returns how many records went.
   */
  expire(beforeWallMs: number, finalsMax: number): number;
  /** Moves the write-ahead log into the database file (run on a timer, off the commit path). */
  checkpoint(): void;
  /** Bytes on disk now (database plus its write-ahead log), for tests and metrics. */
  sizeBytes(): number;
  /** How a writer thread opens this journal for commits; absent: commits stay on this thread. */
  writerSpec?(): JournalWriterSpec;
  close(): void;
}
