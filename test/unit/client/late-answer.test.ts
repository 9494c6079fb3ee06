/**
 * Goal: SPEC section 4 counts `duplicates` only for tasks already answered; an answer that arrives
 * after the client gave up on a task (requestTimeoutMs) leaves it `unanswered` and is not a duplicate.
 * Method: the client core with explicit nowMs and a fixed task id.
 */
import { describe, expect, it } from "vitest";

import { ClientCore } from "../../../src/client/core.js";
import { seededRng } from "../../../src/runtime/rng.js";
import { simClientConfig } from "../../../src/sim/sim-configs.js";

const DISPATCHER = { host: "10.0.0.1", port: 5555 };
const TASK_ID = "00000000-0000-4000-8000-0000000000aa";
/** The dispatcher's answer to TASK_ID, as both tests deliver it. */
const ANSWER = {
  v: 1,
  type: "task.result",
  from: "dispatcher",
  taskId: TASK_ID,
  result: "a".repeat(64),
  attempts: 1,
} as const;

describe("answers after the client gave up", () => {
  it("are reported as late, not as duplicates, and do not change the outcome", () => {
    const config = simClientConfig(DISPATCHER, { countMax: 1, requestTimeoutMs: 1_000 });
    const core = new ClientCore(config, { rng: seededRng(1), newTaskId: () => TASK_ID, verify: () => true }, 0);
    core.onTick(0);
    const ended = core.onTick(1_000).find((o) => o.kind === "task_ended");
    expect(ended).toMatchObject({ record: { id: TASK_ID, outcome: "unanswered", latencyMs: null } });
    const late = core.onPacket(1_500, DISPATCHER, ANSWER);
    expect(late).toEqual([{ kind: "late_answer", taskId: TASK_ID }]);
  });

  it("a second answer to an answered task is a duplicate", () => {
    const config = simClientConfig(DISPATCHER, { countMax: 1 });
    const core = new ClientCore(config, { rng: seededRng(1), newTaskId: () => TASK_ID, verify: () => true }, 0);
    core.onTick(0);
    expect(core.onPacket(10, DISPATCHER, ANSWER).map((o) => o.kind)).toEqual(["task_ended"]);
    expect(core.onPacket(20, DISPATCHER, ANSWER)).toEqual([{ kind: "duplicate_answer", taskId: TASK_ID }]);
  });
});
