/**
 * The dispatcher's imperative shell: hosts DispatcherCore on a transport, ticks it from an injected
 * clock, and turns its outputs into logs and counters. Lifecycle at info, drops and losses at warn,
 * per-packet detail at debug only.
 */
import type { Logger } from "pino";
import { createJournalShell, type JournalShell } from "../journal/journal-shell.js";
import type { JournalAsyncWriter, JournalStore } from "../journal/journal-store.js";
import type { Clock } from "../runtime/clock.js";
import { CoreHost } from "../shell/core-host.js";
import { Counters } from "../shell/counters.js";
import { DeadlineTicker } from "../shell/deadline-ticker.js";
import type { FlushScheduler } from "../shell/send-batcher.js";
import type { Transport } from "../transport/transport.js";
import { DispatcherCore } from "./core.js";
import type { DispatcherCoreConfig, DispatcherOutput } from "./types.js";

/** What the dispatcher shell needs from outside. */
export interface DispatcherDeps {
  readonly config: DispatcherCoreConfig;
  /** Least time between two ticks (ms); the core is ticked only when something is due. */
  readonly tickMs: number;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly log: Logger;
  /** Coalesce sends per peer per turn (see SendBatcher); absent = one datagram per packet. */
  readonly scheduleFlush?: FlushScheduler;
  /** The journal (SPEC 5.4); absent = tasks and answers live in memory only. */
  readonly journal?: {
    readonly store: JournalStore;
    /** Wall clock (ms since the epoch). */
    readonly wallMs: () => number;
    readonly scheduleCommit: (commit: () => void) => void;
    /** Starts the journal's writer thread (commits off this thread); absent: commits on this thread. */
    readonly openWriter?: () => JournalAsyncWriter;
  };
  /** Sees every non-send output as it is performed (the admin plane's metrics and activity). */
  readonly observe?: (nowMs: number, output: DispatcherOutput) => void;
}

/** A running dispatcher. */
export interface DispatcherHandle {
  readonly core: DispatcherCore;
  readonly counters: Counters;
  /** The journal, when there is one. */
  readonly journal: JournalShell | undefined;
  /** The shell's datagram figures (for metrics). */
  readonly host: CoreHost<DispatcherOutput>;
  /** Counters so far, shell figures included (what the periodic and final logs print). */
  snapshot(): Record<string, number>;
  stop(): Promise<void>;
}

/** Starts a dispatcher on `deps.transport`. */
export function startDispatcher(deps: DispatcherDeps): DispatcherHandle {
  const core = new DispatcherCore(deps.config);
  const log = deps.log.child({ component: "dispatcher" });
  const counters = new Counters();
  const perform = (output: DispatcherOutput): void => {
    counters.add(output.kind);
    deps.observe?.(deps.clock.nowMs(), output);
    switch (output.kind) {
      case "send":
        break;
      case "task_completed":
        log.debug(
          { taskId: output.taskId, calculatorId: output.calculatorId, latencyMs: output.latencyMs },
          "task completed",
        );
        break;
      case "task_failed":
        counters.add(`task_failed.${output.reason}`);
        log.warn({ taskId: output.taskId, reason: output.reason }, "task failed");
        break;
      case "copy_started":
        counters.add(`copy_started.${output.copyKind}`);
        log.debug({ taskId: output.taskId, calculatorId: output.calculatorId, kind: output.copyKind }, "copy started");
        break;
      case "copy_cancelled":
        log.debug({ taskId: output.taskId, calculatorId: output.calculatorId }, "copy cancelled");
        break;
      case "vote_recorded":
        break;
      case "arrival_refused":
        counters.add(`arrival_refused.${output.reason}`);
        log.info(
          { taskId: output.taskId, calculatorId: output.calculatorId, reason: output.reason },
          "moved task refused: answered or placed elsewhere",
        );
        break;
      case "copy_revoked":
        counters.add("copy_revoked");
        log.info({ taskId: output.taskId, calculatorId: output.calculatorId }, "abandoned copy revoked");
        break;
      case "copy_outvoted":
        log.debug({ taskId: output.taskId, calculatorId: output.calculatorId }, "result outvoted: trust reset");
        break;
      case "hedge_skipped":
        counters.add(`hedge_skipped.${output.reason}`);
        break;
      case "task_replaced":
        counters.add(`task_replaced.${output.reason}`);
        log.info({ taskId: output.taskId, calculatorId: output.calculatorId, reason: output.reason }, "task re-placed");
        break;
      case "task_moved":
        log.debug(
          { taskId: output.taskId, from: output.fromCalculatorId, to: output.toCalculatorId },
          "task moved by the overlay",
        );
        break;
      case "calculator_registered":
        log.info({ calculatorId: output.calculatorId, endpoint: output.endpoint }, "calculator registered");
        break;
      case "calculator_recovered":
        log.info({ calculatorId: output.calculatorId }, "calculator back");
        break;
      case "calculator_restarted":
        log.warn({ calculatorId: output.calculatorId }, "calculator restarted; its tasks are re-placed");
        break;
      case "calculator_dead":
        log.warn(
          { calculatorId: output.calculatorId, taskCount: output.taskCount },
          "calculator silent: declared dead",
        );
        break;
      case "calculator_evicted":
        log.info({ calculatorId: output.calculatorId }, "calculator forgotten after long silence");
        break;
      case "spread_started":
        log.info({ batchId: output.batchId, count: output.count }, "spread batch created: asking the overlay root");
        break;
      case "spread_ended":
        counters.add(`spread_ended.${output.status}`);
        counters.add("spread_replaced", output.replacedCount);
        log.info({ ...output, kind: undefined }, "spread wave ended");
        break;
      case "packet_dropped":
        counters.add(`packet_dropped.${output.reason}`);
        if (output.reason === "registry_full")
          log.warn({ type: output.type }, "calculator refused: registry full (calculatorsMax)");
        else log.debug({ reason: output.reason, type: output.type }, "packet dropped");
        break;
    }
  };
  const journal =
    deps.journal === undefined
      ? undefined
      : createJournalShell({
          core,
          store: deps.journal.store,
          nodeId: deps.config.nodeId,
          clock: deps.clock,
          wallMs: deps.journal.wallMs,
          log: deps.log,
          resultsTtlMs: deps.config.resultsTtlMs,
          resultsMax: deps.config.resultsMax,
          tasksMax: deps.config.tasksMax,
          scheduleCommit: deps.journal.scheduleCommit,
          ...(deps.journal.openWriter === undefined ? {} : { openWriter: deps.journal.openWriter }),
        });
  const host = new CoreHost(deps.transport, journal?.gate ?? core, () => deps.clock.nowMs(), perform, {
    ...(deps.scheduleFlush === undefined ? {} : { scheduleFlush: deps.scheduleFlush }),
  });
  const ticker = new DeadlineTicker(deps.clock, host, {
    tickSpacingMs: deps.tickMs,
    // Lag-aware failure detection: heartbeats queued behind a stall of this process do not kill.
    onStall: (nowMs, sinceMs) => {
      counters.add("loop_stalls");
      core.noteLoopStall(nowMs, sinceMs);
    },
  });
  journal?.start(host);
  ticker.arm();
  const snapshot = (): Record<string, number> => {
    const all = { ...counters.toJSON() };
    for (const [code, count] of host.rejected) all[`datagram_rejected.${code}`] = count;
    for (const [name, count] of Object.entries(host.sendCounts())) all[name] = count;
    all["datagrams_received"] = host.datagramsReceivedCount;
    if (core.resultsEvictedCount > 0) all["results_cache_evicted"] = core.resultsEvictedCount;
    return all;
  };
  return {
    core,
    counters,
    journal,
    host,
    snapshot,
    async stop() {
      ticker.stop();
      await journal?.stop();
      await deps.transport.close();
      log.info({ counters: snapshot(), tasks: core.counts() }, "dispatcher stopped");
    },
  };
}
