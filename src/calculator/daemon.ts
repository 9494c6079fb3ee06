/**
 * The calculator's imperative shell: hosts CalculatorCore, computes the hash chains it asks for in
 * slices (so heartbeats keep flowing during long tasks), and logs outages and finished tasks.
 */
import type { Logger } from "pino";

import type { Clock } from "../runtime/clock.js";
import type { Rng } from "../runtime/rng.js";
import { CoreHost } from "../shell/core-host.js";
import { Counters } from "../shell/counters.js";
import type { Transport } from "../transport/transport.js";
import { CalculatorCore } from "./core.js";
import { evaluateTaskSliced } from "./evaluate.js";
import type { CalculatorCoreConfig, CalculatorOutput } from "./types.js";

/** What the calculator shell needs from outside. */
export interface CalculatorDeps {
  readonly config: CalculatorCoreConfig;
  readonly tickMs: number;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly log: Logger;
}

/** A running calculator. */
export interface CalculatorHandle {
  readonly core: CalculatorCore;
  readonly counters: Counters;
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
        evaluateTaskSliced(output.input, output.rounds).then((digest) => {
          if (!isStopped) host.apply(core.onComputed(deps.clock.nowMs(), output.taskId, digest));
        });
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
  const host: CoreHost<CalculatorOutput> = new CoreHost(deps.transport, core, () => deps.clock.nowMs(), perform);
  const stopTicking = deps.clock.every(deps.tickMs, () => host.tick());
  host.tick(); // first heartbeat now, not one tick later
  return {
    core,
    counters,
    async stop() {
      isStopped = true;
      stopTicking();
      await deps.transport.close();
      for (const [code, count] of host.rejected) counters.add(`datagram_rejected.${code}`, count);
      log.info({ counters: counters.toJSON(), completed: core.completedCount }, "calculator stopped");
    },
  };
}
