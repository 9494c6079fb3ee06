/**
 * Goal: carrying out a move never creates, loses or duplicates a task, never moves a running task,
 * adapts when the giver's queue changed since the plan (it offers fewer or refuses), and is idempotent
 * under duplicated orders, offers and replies.
 * Method: a giver and a receiver MoveNode over TaskQueues, messages passed by hand, plus a fast-check
 * property that interleaves task starts with the handshake in random orders with duplicates.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { MoveNode, type MoveOutput, MoveRound } from "../../../src/overlay/move.js";
import type { MoveOrder } from "../../../src/overlay/rebalance.js";
import { TaskQueue } from "../../../src/overlay/task-queue.js";
import { seededRng, seededUuid } from "../../../src/runtime/rng.js";

function tasks(seed: number, count: number) {
  const rng = seededRng(seed);
  return Array.from({ length: count }, (_, i) => ({ taskId: seededUuid(rng), input: `t${i}`, rounds: 1 }));
}

function pair(giverTasks: number, receiverMax = 100) {
  const giverQueue = new TaskQueue(100, tasks(1, giverTasks));
  const receiverQueue = new TaskQueue(receiverMax);
  const config = { movesRememberedMax: 64, rememberMs: 60_000 };
  return {
    giverQueue,
    receiverQueue,
    giver: new MoveNode({ id: "g", ...config }, giverQueue),
    receiver: new MoveNode({ id: "r", ...config }, receiverQueue),
  };
}

const order = (count: number, index = 0): MoveOrder => ({ from: "g", to: "r", count, round: 1, index });

function only<K extends MoveOutput["kind"]>(outputs: MoveOutput[], kind: K): Extract<MoveOutput, { kind: K }> {
  expect(outputs).toHaveLength(1);
  expect(outputs[0]?.kind).toBe(kind);
  return outputs[0] as Extract<MoveOutput, { kind: K }>;
}

describe("MoveNode handshake", () => {
  it("moves queued tasks and reports exactly which ones moved", () => {
    const { giver, receiver, giverQueue, receiverQueue } = pair(5);
    const offer = only(giver.onOrder(0, "root", order(3)), "send_offer");
    expect(offer.tasks).toHaveLength(3);
    expect(giverQueue.count("reserved")).toBe(3);
    expect(giverQueue.startNext()).toBeDefined(); // reserved tasks never start; a queued one does
    expect(giverQueue.count("reserved")).toBe(3);
    const reply = only(receiver.onOffer(1, "g", 1, 0, offer.tasks), "send_reply");
    expect(reply.accepted).toHaveLength(3);
    const outputs = giver.onReply(2, "r", 1, 0, reply.accepted);
    expect(outputs[1]).toEqual({ kind: "tasks_moved", to: "r", taskIds: expect.any(Array) });
    const report = only(outputs.slice(0, 1), "send_report");
    expect(report.to).toBe("root");
    expect(report.report).toMatchObject({ round: 1, index: 0, to: "r", unmovedCount: 0 });
    expect(new Set(report.report.movedTaskIds)).toEqual(new Set(offer.tasks.map((t) => t.taskId)));
    expect(giverQueue.taskIds()).toHaveLength(2);
    expect(receiverQueue.count("queued")).toBe(3);
  });

  it("never moves running tasks: the giver offers only what is still queued, and refuses when none is", () => {
    const { giver, giverQueue } = pair(3);
    giverQueue.startNext();
    giverQueue.startNext();
    const offer = only(giver.onOrder(0, "root", order(3)), "send_offer");
    expect(offer.tasks).toHaveLength(1);
    expect(offer.tasks.every((t) => giverQueue.stateOf(t.taskId) === "reserved")).toBe(true);
    const idle = pair(2);
    idle.giverQueue.startNext();
    idle.giverQueue.startNext();
    const refusal = only(idle.giver.onOrder(0, "root", order(2)), "send_report");
    expect(refusal.report).toMatchObject({ movedTaskIds: [], unmovedCount: 2 });
  });

  it("returns refused tasks to the giver's queue when the receiver is full", () => {
    const { giver, receiver, giverQueue, receiverQueue } = pair(4, 1);
    const offer = only(giver.onOrder(0, "root", order(3)), "send_offer");
    const reply = only(receiver.onOffer(1, "g", 1, 0, offer.tasks), "send_reply");
    expect(reply.accepted).toHaveLength(1);
    expect(reply.refused).toHaveLength(2);
    const report = only(giver.onReply(2, "r", 1, 0, reply.accepted).slice(0, 1), "send_report");
    expect(report.report.unmovedCount).toBe(2);
    expect(giverQueue.count("queued")).toBe(3);
    expect(receiverQueue.count("queued")).toBe(1);
  });

  it("is idempotent under duplicated orders, offers and replies", () => {
    const { giver, receiver, giverQueue, receiverQueue } = pair(4);
    const offer = only(giver.onOrder(0, "root", order(2)), "send_offer");
    expect(only(giver.onOrder(1, "root", order(2)), "move_ignored").reason).toBe("duplicate");
    const reply = receiver.onOffer(1, "g", 1, 0, offer.tasks);
    expect(receiver.onOffer(2, "g", 1, 0, offer.tasks)).toEqual(reply);
    const accepted = only(reply, "send_reply").accepted;
    only(giver.onReply(3, "r", 1, 0, accepted).slice(0, 1), "send_report");
    expect(only(giver.onReply(4, "r", 1, 0, accepted), "move_ignored").reason).toBe("unknown_move");
    expect(only(giver.onReply(4, "x", 1, 9, accepted), "move_ignored").reason).toBe("unknown_move");
    expect(giverQueue.taskIds().length + receiverQueue.taskIds().length).toBe(4);
  });

  it("MoveRound completes once every order reported, ignoring duplicates and other rounds", () => {
    const round = new MoveRound(2, [
      { ...order(1, 0), round: 2 },
      { ...order(1, 1), round: 2 },
    ]);
    const report = { round: 2, index: 0, to: "r", movedTaskIds: ["x"], unmovedCount: 0 };
    expect(round.onReport(report)).toBe(true);
    expect(round.onReport(report)).toBe(false);
    expect(round.onReport({ ...report, round: 1, index: 1 })).toBe(false);
    expect(round.isComplete).toBe(false);
    expect(round.onReport({ ...report, index: 1, movedTaskIds: [], unmovedCount: 1 })).toBe(true);
    expect(round).toMatchObject({ isComplete: true, movedCount: 1, unmovedCount: 1 });
  });
});

describe("MoveNode: conservation property", () => {
  it("every task ends on exactly one node and running tasks never move, under any interleaving", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.constantFrom("start", "dup"), { maxLength: 8 }),
        fc.integer({ min: 1, max: 20 }),
        (queued, count, noise, receiverMax) => {
          const { giver, receiver, giverQueue, receiverQueue } = pair(queued, receiverMax);
          const before = new Set(giverQueue.taskIds());
          const running = new Set<string>();
          const startSome = () => {
            const id = giverQueue.startNext();
            if (id !== undefined) running.add(id);
          };
          if (noise.includes("start")) startSome();
          const first = giver.onOrder(0, "root", order(count));
          if (noise[1] === "dup") giver.onOrder(0, "root", order(count));
          const offer = first[0];
          if (offer?.kind === "send_offer") {
            startSome(); // a slot frees up mid-move: it must take a queued task, not an offered one
            const reply = receiver.onOffer(1, "g", 1, 0, offer.tasks)[0];
            if (noise[2] === "dup") receiver.onOffer(1, "g", 1, 0, offer.tasks);
            if (reply?.kind === "send_reply") giver.onReply(2, "r", 1, 0, reply.accepted);
            if (noise[3] === "dup" && reply?.kind === "send_reply") giver.onReply(2, "r", 1, 0, reply.accepted);
          }
          const after = [...giverQueue.taskIds(), ...receiverQueue.taskIds()];
          expect(after).toHaveLength(before.size);
          expect(new Set(after)).toEqual(before);
          for (const id of running) expect(giverQueue.stateOf(id)).toBe("running");
          expect(giverQueue.count("reserved")).toBe(0);
        },
      ),
      { seed: 4242, numRuns: 300 },
    );
  });
});

describe("MoveNode: an offer that gets no reply", () => {
  it("is presumed accepted after the reply timeout: committed, reported, and a late reply is ignored", () => {
    const { giver, giverQueue } = pair(5);
    const offer = only(giver.onOrder(0, "root", order(3)), "send_offer");
    expect(giverQueue.count("reserved")).toBe(3);
    expect(giver.expireOffers(999, 1_000)).toEqual([]);
    const expired = giver.expireOffers(1_000, 1_000);
    const ids = offer.tasks.map((task) => task.taskId);
    expect(expired).toEqual([
      { kind: "move_presumed", to: "r", round: 1, index: 0, taskIds: ids },
      { kind: "send_report", to: "root", report: { round: 1, index: 0, to: "r", movedTaskIds: ids, unmovedCount: 0 } },
      { kind: "tasks_moved", to: "r", taskIds: ids },
    ]);
    // Never back in the giver's queue: the receiver (or the dispatcher, if it died) owns them now.
    expect(giverQueue.count("reserved")).toBe(0);
    expect(giverQueue.count("queued")).toBe(2);
    expect(giver.onReply(1_500, "r", 1, 0, ids)).toEqual([{ kind: "move_ignored", reason: "unknown_move" }]);
    expect(giver.expireOffers(5_000, 1_000)).toEqual([]);
  });
});
