/**
 * The simulated client: the real ClientCore on the simulation's network, recording what it sent and
 * every final answer it accepted (and checked against the true result).
 */
import { evaluateTask } from "../calculator/evaluate.js";
import { ClientCore } from "../client/core.js";
import type { ClientCoreConfig, ClientOutput, TaskRecord } from "../client/types.js";
import { type Rng, seededRng, seededUuid } from "../runtime/rng.js";
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

/** Builds the simulated client on 10.0.2.1:9000. */
export function buildSimClient(
  seed: number,
  overrides: Partial<ClientCoreConfig> | undefined,
  dispatcher: Endpoint,
  network: MemoryNetwork,
  now: () => number,
  rng: Rng,
  scheduleFlush: FlushScheduler,
): { node: CoreHost<ClientOutput>; state: ClientState } {
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
  const perform = (output: ClientOutput): void => {
    if (output.kind === "task_sent") state.sentTaskIds.push(output.taskId);
    else if (output.kind === "task_ended") {
      state.records.push(output.record);
      if (output.isWrong) state.wrongCount += 1;
    } else if (output.kind === "duplicate_answer") state.duplicateCount += 1;
    else if (output.kind === "finished") state.hasFinished = true;
  };
  const node = new CoreHost(network.bind(now, "10.0.2.1", 9000), core, now, perform, { scheduleFlush });
  return { node, state };
}
