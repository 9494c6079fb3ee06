/**
 * Runs a dispatcher's journal: builds the {@link JournalGate} around the core, reloads the journal
 * at start (reporting damage it skipped), and on a timer expires old answers and checkpoints the
 * write-ahead log, so the file stays flat under steady load. Logs a write failure once (error) and
 * its end (info). The daemon owns the store; this owns the timers.
 */
import type { Logger } from "pino";

import type { DispatcherCore } from "../dispatcher/core.js";
import type { DispatcherOutput } from "../dispatcher/types.js";
import type { Clock } from "../runtime/clock.js";
import type { CoreHost } from "../shell/core-host.js";
import { JournalGate } from "./journal-gate.js";
import type { JournalStore } from "./journal-store.js";

/** Expiry and checkpoint period (ms): off the commit path, often enough to keep the WAL small. */
export const JOURNAL_MAINTENANCE_MS = 1_000;
/** Delay before a failed commit is tried again (ms). */
export const JOURNAL_RETRY_MS = 250;

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
}

/** A journal attached to a dispatcher. */
export interface JournalShell {
  readonly gate: JournalGate;
  /** Reloads the journal into the core and starts the timers; `host` performs what recovery outputs. */
  start(host: CoreHost<DispatcherOutput>): void;
  /** Commits what is pending, stops the timers and closes the store. */
  stop(): void;
}

/** Commits, records and commit latency (ms, over the last COMMIT_SAMPLES_MAX commits) for logs and the bench. */
export function commitReport(gate: JournalGate): Record<string, number> {
  const sorted = [...gate.commitSamplesMs].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const round = (ms: number): number => Math.round(ms * 1_000) / 1_000;
  return {
    commits: gate.commitCount,
    records: gate.recordCount,
    refused: gate.refusedCount,
    commitP50Ms: round(at(0.5)),
    commitP99Ms: round(at(0.99)),
    commitMaxMs: round(sorted.at(-1) ?? 0),
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
  const maintain = (): void => {
    try {
      const expired = deps.store.expire(deps.wallMs() - deps.resultsTtlMs, deps.resultsMax);
      deps.store.checkpoint();
      if (expired > 0) log.debug({ expired, bytes: deps.store.sizeBytes() }, "journal compacted");
    } catch (error) {
      log.warn({ error: (error as Error).message }, "journal maintenance failed; will try again");
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
      stopTimer = deps.clock.every(JOURNAL_MAINTENANCE_MS, maintain);
    },
    stop() {
      stopTimer?.();
      gate.commit();
      deps.store.close();
      log.info(commitReport(gate), "journal stopped");
    },
  };
}
