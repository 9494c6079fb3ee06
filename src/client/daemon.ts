/**
 * The client's imperative shell: hosts ClientCore, records statistics and per-task lines, and
 * resolves `finished` when a bounded run (--count, --duration-s) has every task answered or timed out.
 */
import type { Logger } from "pino";
import type { Packet } from "../protocol/packet.js";
import type { Clock } from "../runtime/clock.js";
import type { Rng } from "../runtime/rng.js";
import { CoreHost } from "../shell/core-host.js";
import { DeadlineTicker } from "../shell/deadline-ticker.js";
import type { FlushScheduler } from "../shell/send-batcher.js";
import type { Endpoint, Transport } from "../transport/transport.js";
import { ClientCore } from "./core.js";
import { StatsRecorder } from "./stats.js";
import type { ClientCoreConfig, ClientOutput, TaskRecord } from "./types.js";

/** What the client shell needs from outside. */
export interface ClientDeps {
  readonly config: ClientCoreConfig;
  /** Least time between two ticks (ms); the core is ticked only when something is due. */
  readonly tickMs: number;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly newTaskId: () => string;
  readonly verify: (input: string, rounds: number, result: string) => boolean;
  readonly log: Logger;
  /** Coalesce sends per peer per turn (see SendBatcher); absent = one datagram per packet. */
  readonly scheduleFlush?: FlushScheduler;
  /** Leave tasks first sent in this many ms after the start out of the latency statistics (--warmup-s). */
  readonly latencyWarmupMs?: number;
  /** Called with each task's final record (for --results). */
  readonly onRecord?: (record: TaskRecord) => void;
  /** Takes packets the core does not handle (admin.status.result for the dispatcher view); true = taken. */
  readonly divert?: (nowMs: number, from: Endpoint, packet: Packet) => boolean;
}

/** A running client. */
export interface ClientHandle {
  readonly core: ClientCore;
  readonly stats: StatsRecorder;
  /** Resolves once sending has stopped and no task is outstanding. */
  readonly finished: Promise<void>;
  /** Stops now: every outstanding task is recorded as unanswered. */
  stop(): Promise<void>;
}

/** Starts a client on `deps.transport`. */
export function startClient(deps: ClientDeps): ClientHandle {
  const log = deps.log.child({ component: "client" });
  const core = new ClientCore(
    deps.config,
    { rng: deps.rng, newTaskId: deps.newTaskId, verify: deps.verify },
    deps.clock.nowMs(),
  );
  // No warm-up (absent or 0) counts every task, also one sent at the very clock reading of the start.
  const warmupMs = deps.latencyWarmupMs ?? 0;
  const stats = new StatsRecorder(warmupMs > 0 ? deps.clock.nowMs() + warmupMs : Number.NEGATIVE_INFINITY);
  let resolveFinished: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    resolveFinished = resolve;
  });
  const perform = (output: ClientOutput): void => {
    switch (output.kind) {
      case "send":
        break;
      case "task_sent":
        stats.onSent();
        log.debug({ taskId: output.taskId }, "task sent");
        break;
      case "task_ended":
        stats.onEnded(output.record, output.firstSentMs);
        deps.onRecord?.(output.record);
        if (output.record.outcome !== "ok") {
          log.debug(
            { taskId: output.record.id, outcome: output.record.outcome, reason: output.record.reason },
            "task not ok",
          );
        }
        break;
      case "duplicate_answer":
        stats.onDuplicate();
        break;
      case "late_answer":
        log.debug({ taskId: output.taskId }, "answer after requestTimeoutMs: task stays unanswered");
        break;
      case "send_skipped":
        log.warn({ reason: output.reason }, "task not sent: too many outstanding");
        break;
      case "finished":
        resolveFinished();
        break;
    }
  };
  const host = new CoreHost(deps.transport, core, () => deps.clock.nowMs(), perform, {
    ...(deps.divert === undefined ? {} : { divert: deps.divert }),
    ...(deps.scheduleFlush === undefined ? {} : { scheduleFlush: deps.scheduleFlush }),
  });
  const ticker = new DeadlineTicker(deps.clock, host, { tickSpacingMs: deps.tickMs });
  ticker.tickNow();
  return {
    core,
    stats,
    finished,
    async stop() {
      ticker.stop();
      host.apply(core.abandonAll(deps.clock.nowMs()));
      await deps.transport.close();
      resolveFinished();
    },
  };
}
