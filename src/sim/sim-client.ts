/**
 * The simulated client: the real ClientCore on the simulation's network, recording what it sent and
 * every final answer it accepted (and checked against the true result).
 */
import { evaluateTask } from "../calculator/evaluate.js";
import { ClientCore } from "../client/core.js";
import type { ClientCoreConfig, ClientOutput, TaskRecord } from "../client/types.js";
import type { TaskId } from "../protocol/packets.js";
import { type Rng, randomIntInclusive, seededRng, seededUuid } from "../runtime/rng.js";
import { CoreHost } from "../shell/core-host.js";
import type { FlushScheduler } from "../shell/send-batcher.js";
import type { MemoryNetwork } from "../transport/memory-network.js";
import type { Endpoint } from "../transport/transport.js";
import { simClientConfig } from "./sim-configs.js";

/** What the client saw. */
export interface ClientState {
  records: TaskRecord[];
  sentTaskIds: string[];
  duplicateCount: number;
  wrongCount: number;
  hasFinished: boolean;
}

/** Client cancels: this share of tasks is cancelled 0..delayMsMax ms after it was sent. */
export interface SimCancels {
  readonly probability: number;
  readonly delayMsMax: number;
}

/** The simulated client: its host, what it saw, and cancelDue (call it every step). */
export interface SimClient {
  readonly node: CoreHost<ClientOutput>;
  readonly state: ClientState;
  /** Sends the cancels that are due (ClientCore.cancel; an ended task gives nothing). */
  cancelDue(nowMs: number): void;
}

/** Builds the simulated client on 10.0.2.1:9000. */
export function buildSimClient(
  seed: number,
  overrides: Partial<ClientCoreConfig> | undefined,
  dispatcher: Endpoint,
  network: MemoryNetwork,
  now: () => number,
  rng: Rng,
  scheduleFlush: FlushScheduler,
  cancels?: SimCancels,
): SimClient {
  const state: ClientState = { records: [], sentTaskIds: [], duplicateCount: 0, wrongCount: 0, hasFinished: false };
  const idRng = seededRng(seed + 7);
  const core = new ClientCore(
    simClientConfig(dispatcher, overrides),
    {
      rng,
      newTaskId: () => seededUuid(idRng),
      verify: (input, rounds, result) => evaluateTask(input, rounds) === result,
    },
    now(),
  );
  // Its own generator: scenarios without cancels draw exactly what they drew before.
  const cancelRng = seededRng(seed + 13);
  /** BOUNDED: one entry per task sent (countMax), removed when due. */
  const dueCancels: { taskId: TaskId; atMs: number }[] = [];
  const perform = (output: ClientOutput): void => {
    if (output.kind === "task_sent") {
      state.sentTaskIds.push(output.taskId);
      if (cancels !== undefined && cancelRng() < cancels.probability)
        dueCancels.push({ taskId: output.taskId, atMs: now() + randomIntInclusive(cancelRng, 0, cancels.delayMsMax) });
    } else if (output.kind === "task_ended") {
      state.records.push(output.record);
      if (output.isWrong) state.wrongCount += 1;
    } else if (output.kind === "duplicate_answer") state.duplicateCount += 1;
    else if (output.kind === "finished") state.hasFinished = true;
  };
  const node = new CoreHost(network.bind(now, "10.0.2.1", 9000), core, now, perform, { scheduleFlush });
  const cancelDue = (nowMs: number): void => {
    for (let i = dueCancels.length - 1; i >= 0; i -= 1) {
      const due = dueCancels[i];
      if (due === undefined || due.atMs > nowMs) continue;
      dueCancels.splice(i, 1);
      node.apply(core.cancel(nowMs, due.taskId));
    }
  };
  return { node, state, cancelDue };
}
