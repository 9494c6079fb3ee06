/**
 * Goal: remote input never trips an assertion: any sequence of schema-valid but arbitrary overlay
 * messages (wrong senders, unknown, stale, repeated or concurrent waves, bogus moves) is either acted
 * on or ignored with a reason, and never throws or breaks a node's invariants.
 * Method: fast-check sequences of calls on one EchoNode, FinnNode and MoveNode with senders drawn from
 * the real neighbours plus strangers; a failing sequence shrinks and replays from the seed.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { EchoNode } from "../../../src/overlay/echo.js";
import { FinnNode } from "../../../src/overlay/finn.js";
import { MoveNode } from "../../../src/overlay/move.js";
import { TaskQueue } from "../../../src/overlay/task-queue.js";

const peer = fc.constantFrom("p", "q", "c1", "c2", "stranger", "me");
const waveId = fc.integer({ min: 0, max: 12 });
const taskId = fc.constantFrom(
  "00000000-0000-4000-8000-000000000001",
  "00000000-0000-4000-8000-000000000002",
  "00000000-0000-4000-8000-000000000003",
  "00000000-0000-4000-8000-000000000009",
);
const report = fc.record({
  nodeCount: fc.integer({ min: 1, max: 3 }),
  slotsSum: fc.integer({ min: 1, max: 9 }),
  queuedSum: fc.integer({ min: 0, max: 9 }),
  entries: fc.constant([["c1", 0, 1, 0] as const]),
});

const call = fc.oneof(
  fc.record({ kind: fc.constant("explore" as const), from: peer, waveId }),
  fc.record({ kind: fc.constant("echo" as const), from: peer, waveId, report }),
  fc.record({
    kind: fc.constant("finn" as const),
    from: peer,
    waveId,
    items: fc.nat(1000),
    slots: fc.integer({ min: 1, max: 50 }),
  }),
  fc.record({
    kind: fc.constant("done" as const),
    from: peer,
    waveId,
    acted: fc.integer({ min: 1, max: 5 }),
    taken: fc.nat(99),
  }),
  fc.record({
    kind: fc.constant("order" as const),
    from: peer,
    to: peer,
    count: fc.integer({ min: 1, max: 8 }),
    index: fc.nat(3),
  }),
  fc.record({
    kind: fc.constant("offer" as const),
    from: peer,
    index: fc.nat(3),
    ids: fc.uniqueArray(taskId, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant("reply" as const),
    from: peer,
    index: fc.nat(3),
    ids: fc.array(taskId, { maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant("start" as const) }),
);

describe("overlay cores under arbitrary remote input", () => {
  it("never throw, and every task stays on the node exactly once", () => {
    fc.assert(
      fc.property(fc.array(call, { maxLength: 60 }), (calls) => {
        const echo = new EchoNode({ id: "me", parent: "p", children: ["c1", "c2"], wavesMax: 3 });
        const finn = new FinnNode({
          id: "me",
          slots: 2,
          parents: ["p", "q"],
          children: ["c1", "c2"],
          primaryChildren: ["c1"],
          wavesMax: 3,
        });
        const initial = ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"];
        const queue = new TaskQueue(
          4,
          initial.map((id) => ({ taskId: id, input: "x", rounds: 1 })),
        );
        const move = new MoveNode({ id: "me", movesRememberedMax: 4, rememberMs: 1_000 }, queue);
        const acted = new Map<number, number>();
        calls.forEach((c, nowMs) => {
          switch (c.kind) {
            case "explore":
              echo.onExplore(c.from, c.waveId, { slots: 2, queued: queue.count("queued") });
              break;
            case "echo":
              echo.onEcho(c.from, c.waveId, c.report);
              break;
            case "finn":
              for (const o of finn.onFinn(c.from, c.waveId, { itemsTotal: c.items, slotsTotal: c.slots })) {
                if (o.kind === "act") acted.set(o.waveId, (acted.get(o.waveId) ?? 0) + 1);
              }
              break;
            case "done":
              finn.onDone(c.from, c.waveId, c.acted, c.taken);
              break;
            case "order":
              move.onOrder(nowMs, c.from, { from: "me", to: c.to, count: c.count, round: 1, index: c.index });
              break;
            case "offer":
              move.onOffer(
                nowMs,
                c.from,
                1,
                c.index,
                c.ids.map((id) => ({ taskId: id, input: "y", rounds: 2 })),
              );
              break;
            case "reply":
              move.onReply(nowMs, c.from, 1, c.index, c.ids);
              break;
            case "start":
              queue.startNext();
              break;
          }
        });
        for (const count of acted.values()) expect(count).toBe(1);
        const ids = queue.taskIds();
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.length).toBeLessThanOrEqual(4);
      }),
      { seed: 7, numRuns: 400 },
    );
  });
});
