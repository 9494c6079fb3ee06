/**
 * Runs a dispatcher's journal: builds the {@link JournalGate} around the core, reloads the journal
 * at start (reporting damage it skipped), then hands commits to the writer thread when there is one
 * (`openWriter`), and on a timer expires old answers and checkpoints the write-ahead log, so the file
 * stays flat under steady load; maintenance goes to the same thread, after the commits sent before
 * it, so it never contends with a commit for the database's write lock. Logs a write failure once
 * (error) and its end (info). A stop stores and releases what was accepted, then ends the thread.
 * The daemon owns the store; this owns the timers and the thread.
 */
import type { Logger } from "pino";

import type { DispatcherCore } from "../dispatcher/core.js";
import type { DispatcherOutput } from "../dispatcher/types.js";
import type { Clock } from "../runtime/clock.js";
import type { CoreHost } from "../shell/core-host.js";
import { JournalGate } from "./journal-gate.js";
import type { JournalAsyncWriter, JournalMaintenance, JournalStore } from "./journal-store.js";

/** Expiry and checkpoint period (ms): off the commit path, often enough to keep the WAL small. */
export const JOURNAL_MAINTENANCE_MS = 1_000;
/** Delay before a failed commit is tried again (ms). */
export const JOURNAL_RETRY_MS = 250;
/** Longest a stop waits for the batches accepted tasks need (ms): a disk that hangs must not hang the stop. */
export const JOURNAL_STOP_WAIT_MS = 5_000;

/** What a running journal needs. */
export interface JournalShellDeps {
  readonly core: DispatcherCore;
  readonly store: JournalStore;
  readonly nodeId: string;
  readonly clock: Clock;
  readonly wallMs: () => number;
  readonly log: Logger;
  /** Final answers are kept (and journaled) this long (ms) and at most this many. */
  readonly resultsTtlMs: number;
  readonly resultsMax: number;
  readonly tasksMax: number;
  /** End-of-turn scheduler (daemons: setImmediate). */
  readonly scheduleCommit: (commit: () => void) => void;
  /** Starts the writer thread once the store has loaded; absent: commits run on this thread. */
  readonly openWriter?: () => JournalAsyncWriter;
}

/** A journal attached to a dispatcher. */
export interface JournalShell {
  readonly gate: JournalGate;
  /** Reloads the journal into the core and starts the timers; `host` performs what recovery outputs. */
  start(host: CoreHost<DispatcherOutput>): void;
  /**
   * Refuses new tasks, stores what is pending and releases what waited for it (at most
   * JOURNAL_STOP_WAIT_MS), stops the timers, ends the writer thread and closes the store.
   */
  stop(): Promise<void>;
}

/** Commits, records and commit latency (ms, over the last COMMIT_SAMPLES_MAX commits) for logs and the bench. */
export function commitReport(gate: JournalGate, storeSamplesMs: readonly number[] = []): Record<string, number> {
  const quantiles = (samples: readonly number[]): [number, number, number] => {
    const sorted = [...samples].sort((a, b) => a - b);
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    const round = (ms: number): number => Math.round(ms * 1_000) / 1_000;
    return [round(at(0.5)), round(at(0.99)), round(sorted.at(-1) ?? 0)];
  };
  const [p50, p99, max] = quantiles(gate.commitSamplesMs);
  const [storeP50, storeP99] = quantiles(storeSamplesMs);
  return {
    commits: gate.commitCount,
    records: gate.recordCount,
    refused: gate.refusedCount,
    commitP50Ms: p50,
    commitP99Ms: p99,
    commitMaxMs: max,
    ...(storeSamplesMs.length === 0 ? {} : { storeP50Ms: storeP50, storeP99Ms: storeP99 }),
  };
}

/** Builds the gate and its maintenance; see the file comment. */
export function createJournalShell(deps: JournalShellDeps): JournalShell {
  const log = deps.log.child({ component: "journal" });
  const gate = new JournalGate({
    core: deps.core,
    store: deps.store,
    nodeId: deps.nodeId,
    wallMs: deps.wallMs,
    monoMs: () => deps.clock.nowMs(),
    scheduleCommit: deps.scheduleCommit,
    retryLater: (retry) => {
      deps.clock.at(deps.clock.nowMs() + JOURNAL_RETRY_MS, retry);
    },
    pendingRecordsMax: 2 * deps.tasksMax + 2 * deps.resultsMax,
    onWriteFailure: (failure) =>
      log.error(
        { code: failure.code, error: failure.message },
        "journal write failed: new tasks are refused (overloaded) until it can write again; nothing unstored is acknowledged",
      ),
    onWriteRecovered: () => log.info("journal writable again: accepting tasks"),
  });
  let stopTimer: (() => void) | undefined;
  let writer: JournalAsyncWriter | undefined;
  let isMaintaining = false;
  const report = (result: JournalMaintenance): void => {
    if ("error" in result) log.warn({ error: result.error }, "journal maintenance failed; will try again");
    else if (result.expired > 0)
      log.debug({ expired: result.expired, bytes: deps.store.sizeBytes() }, "journal compacted");
  };
  const maintain = (): void => {
    const beforeWallMs = deps.wallMs() - deps.resultsTtlMs;
    if (writer !== undefined) {
      // One round at a time: a slow disk must not queue rounds behind each other.
      if (isMaintaining) return;
      isMaintaining = true;
      writer.maintain(beforeWallMs, deps.resultsMax, (result) => {
        isMaintaining = false;
        report(result);
      });
      return;
    }
    try {
      const expired = deps.store.expire(beforeWallMs, deps.resultsMax);
      deps.store.checkpoint();
      report({ expired });
    } catch (error) {
      report({ error: (error as Error).message });
    }
  };
  return {
    gate,
    start(host) {
      gate.release = (outputs) => host.apply(outputs);
      const contents = deps.store.load();
      for (const note of contents.damage) log.warn({ skipped: contents.skippedCount }, `journal damaged: ${note}`);
      maintain();
      host.apply(gate.recover(deps.clock.nowMs(), contents));
      log.info(
        { unfinished: contents.unfinished.length, finals: contents.finals.length, skipped: contents.skippedCount },
        "journal loaded",
      );
      if (deps.openWriter !== undefined) {
        // Nothing is in flight yet (recovery's records, if any, wait for the end of the turn): from here on commits go to the thread.
        writer = deps.openWriter();
        gate.attachWriter(writer);
      }
      stopTimer = deps.clock.every(JOURNAL_MAINTENANCE_MS, maintain);
    },
    async stop() {
      stopTimer?.();
      gate.stopAccepting();
      gate.commit();
      let cancelWait: () => void = () => {};
      const timedOut = new Promise<void>((resolve) => {
        cancelWait = deps.clock.at(deps.clock.nowMs() + JOURNAL_STOP_WAIT_MS, resolve);
      });
      await Promise.race([gate.drained(), timedOut]);
      cancelWait();
      await writer?.close();
      deps.store.close();
      log.info({ ...commitReport(gate, writer?.storeSamplesMs), unstored: gate.unstoredCount }, "journal stopped");
    },
  };
}
