/**
 * The calculator's imperative shell: hosts CalculatorCore, computes the hash chains it asks for in
 * slices (so heartbeats keep flowing during long tasks), and logs outages and finished tasks.
 */
import type { Logger } from "pino";
import { OverlayAgent } from "../overlay/agent.js";
import { isOverlayAgentPacket, type OverlayAgentConfig } from "../overlay/agent-config.js";
import type { OverlayQueue } from "../overlay/overlay-queue.js";
import { encodePacket } from "../protocol/codec.js";
import type { Packet } from "../protocol/packet.js";
import type { Clock } from "../runtime/clock.js";
import type { Rng } from "../runtime/rng.js";
import { CoreHost } from "../shell/core-host.js";
import { Counters } from "../shell/counters.js";
import { DeadlineTicker } from "../shell/deadline-ticker.js";
import type { FlushScheduler } from "../shell/send-batcher.js";
import type { Endpoint, Transport } from "../transport/transport.js";
import { CalculatorCore } from "./core.js";
import { evaluateTaskSliced } from "./evaluate.js";
import type { CalculatorCoreConfig, CalculatorOutput } from "./types.js";

/** What the calculator shell needs from outside. */
export interface CalculatorDeps {
  readonly config: CalculatorCoreConfig;
  /**
   * Least time between two core ticks (ms; the core is ticked only when something is due), and the
   * steady tick of the overlay agent, whose link layer batches its acknowledgements per tick.
   */
  readonly tickMs: number;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly log: Logger;
  /** Present when this calculator is an overlay node. */
  readonly overlay?: OverlayAgentConfig;
  /** Coalesce task-plane sends per peer per turn (see SendBatcher); absent = one datagram per packet. */
  readonly scheduleFlush?: FlushScheduler;
}

/** A running calculator. */
export interface CalculatorHandle {
  readonly core: CalculatorCore;
  readonly counters: Counters;
  /** The calculator's overlay node (the one overlay shell, src/overlay/agent.ts), when it has one. */
  readonly overlay: OverlayAgent | undefined;
  stop(): Promise<void>;
}

/** Starts a calculator on `deps.transport`. */
export function startCalculator(deps: CalculatorDeps): CalculatorHandle {
  const core = new CalculatorCore(deps.config, deps.rng, deps.clock.nowMs());
  const log = deps.log.child({ component: "calculator" });
  const counters = new Counters();
  let isStopped = false;
  const perform = (output: CalculatorOutput): void => {
    counters.add(output.kind);
    switch (output.kind) {
      case "send":
        break;
      case "compute":
        evaluateTaskSliced(output.input, output.rounds, () => isStopped || !core.isRunning(output.taskId)).then(
          (digest) => {
            if (!isStopped && digest !== undefined)
              host.apply(core.onComputed(deps.clock.nowMs(), output.taskId, digest));
          },
        );
        break;
      case "task_cancelled":
        log.debug({ taskId: output.taskId, wasRunning: output.wasRunning }, "copy cancelled by the dispatcher");
        break;
      case "task_queued":
        log.debug({ taskId: output.taskId, queuedCount: output.queuedCount }, "task queued");
        break;
      case "task_started":
        log.debug({ taskId: output.taskId, computeMs: output.computeMs }, "task started");
        break;
      case "task_finished":
        if (output.isCorrupt) counters.add("task_corrupted");
        log.debug({ taskId: output.taskId, isCorrupt: output.isCorrupt }, "task finished");
        break;
      case "outage_started":
        log.warn({ durationMs: output.durationMs }, "emulated outage: silent until it ends");
        break;
      case "outage_ended":
        log.info("emulated outage over: back with the same identity");
        break;
      case "packet_dropped":
        counters.add(`packet_dropped.${output.reason}`);
        log.debug({ reason: output.reason, type: output.type }, "packet dropped");
        break;
    }
  };
  let agent: OverlayAgent | undefined;
  const divert = (nowMs: number, from: Endpoint, packet: Packet): boolean => {
    if (agent === undefined || !isOverlayAgentPacket(packet)) return false;
    if (!core.isInOutage) agent.onPacket(nowMs, from, packet); // an emulated outage silences the node too
    return true;
  };
  const host: CoreHost<CalculatorOutput> = new CoreHost(deps.transport, core, () => deps.clock.nowMs(), perform, {
    divert,
    ...(deps.scheduleFlush === undefined ? {} : { scheduleFlush: deps.scheduleFlush }),
  });
  if (deps.overlay !== undefined) {
    agent = new OverlayAgent({
      config: deps.overlay,
      queue: overlayQueueOf(core, host, log),
      send: (to, packet) => deps.transport.send(to, encodePacket(packet)),
      nowMs: () => deps.clock.nowMs(),
      log: deps.log,
      dispatcher: deps.config.dispatcher,
      boot: deps.config.boot,
    });
  }
  const ticker = new DeadlineTicker(deps.clock, host, { tickSpacingMs: deps.tickMs });
  const overlayAgent = agent;
  const stopAgentTicking =
    overlayAgent === undefined
      ? () => undefined
      : deps.clock.every(deps.tickMs, () => {
          if (!core.isInOutage) overlayAgent.onTick(deps.clock.nowMs());
        });
  ticker.tickNow(); // first heartbeat now, not one tick later
  return {
    core,
    counters,
    overlay: overlayAgent,
    async stop() {
      isStopped = true;
      ticker.stop();
      stopAgentTicking();
      await deps.transport.close();
      for (const [code, count] of host.rejected) counters.add(`datagram_rejected.${code}`, count);
      for (const [name, count] of Object.entries(host.sendCounts())) counters.add(name, count);
      for (const [reason, count] of overlayAgent?.droppedCounts ?? []) counters.add(`overlay_dropped.${reason}`, count);
      log.info({ counters: counters.toJSON(), completed: core.completedCount }, "calculator stopped");
    },
  };
}

/** The calculator's queue as its overlay node uses it; outputs (acks, started tasks) go out at once. */
function overlayQueueOf(core: CalculatorCore, host: CoreHost<CalculatorOutput>, log: Logger): OverlayQueue {
  return {
    slots: core.slots,
    queuedCount: () => core.queuedCount,
    reserveQueued: (countMax) => core.reserveQueued(countMax),
    commitMoved: (nowMs, taskIds, holder) => core.commitMoved(nowMs, taskIds, holder),
    releaseReserved: (nowMs, taskIds) => host.apply(core.releaseReserved(nowMs, taskIds)),
    acceptIncoming: (nowMs, tasks, giver) => {
      const { accepted, refused, outputs } = core.acceptIncoming(nowMs, tasks, giver);
      log.debug({ acceptedCount: accepted.length, refusedCount: refused.length }, "moved tasks taken");
      host.apply(outputs);
      return { accepted, refused };
    },
  };
}
