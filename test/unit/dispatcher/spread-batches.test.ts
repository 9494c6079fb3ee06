/**
 * Goal: the dispatcher stays the one authority on where a spread task runs (SPEC 5.8 and 7). A batch
 * is created once per request id, its tasks wait (held) until a node claims them, a claim gets only
 * held tasks and only for the claimant's current incarnation, repeats are idempotent, the wave's end
 * places what nobody claimed (and later claims get nothing), and an answer is never larger than the
 * request it answers.
 * Method: a DispatcherCore driven with plain packets and times; outputs inspected.
 */
import { describe, expect, it } from "vitest";

import { DispatcherCore } from "../../../src/dispatcher/core.js";
import { SPREAD_END_WAIT_MS } from "../../../src/dispatcher/spread-batches.js";
import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import type { Packet } from "../../../src/protocol/packet.js";
import {
  type AdminSpread,
  type AdminSpreadResult,
  SPREAD_REQUEST_BYTES,
  spreadTaskId,
} from "../../../src/protocol/spread-packets.js";
import type { Endpoint } from "../../../src/transport/transport.js";
import { testConfig } from "./fixtures.js";

const BATCH = "3f2a1c9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
const CLI: Endpoint = { host: "10.0.0.50", port: 6000 };
const NODE: Record<"a" | "b", Endpoint> = { a: { host: "10.0.0.1", port: 7001 }, b: { host: "10.0.0.2", port: 7002 } };

function request(count: number, padded = true): AdminSpread {
  const bare: AdminSpread = { v: 1, type: "admin.spread", from: "cluster-cli", requestId: BATCH, count, rounds: 1 };
  return padded ? { ...bare, pad: " ".repeat(SPREAD_REQUEST_BYTES - JSON.stringify(bare).length) } : bare;
}

function heartbeat(core: DispatcherCore, nowMs: number, name: "a" | "b", seq: number, boot = 1): void {
  const role = name === "a" ? "root" : "node";
  const packet: Packet = {
    v: 1,
    type: "calc.heartbeat",
    from: name,
    boot,
    seq,
    capacity: 50,
    running: 0,
    overlayRole: role,
  };
  core.onPacket(nowMs, NODE[name], packet);
}

function claim(name: "a" | "b", first: number, count: number, boot = 1): Packet {
  return { v: 1, type: "spread.claim", from: name, boot, batchId: BATCH, first, count };
}

function sends(outputs: readonly DispatcherOutput[], type: string): Packet[] {
  return outputs.flatMap((o) => (o.kind === "send" && o.packet.type === type ? [o.packet] : []));
}

function resultOf(outputs: readonly DispatcherOutput[]): AdminSpreadResult {
  const [result] = sends(outputs, "admin.spread.result");
  if (result?.type !== "admin.spread.result") throw new Error("no admin.spread.result");
  return result;
}

function coreWithOverlay(): DispatcherCore {
  const core = new DispatcherCore(testConfig({ heartbeatTimeoutMs: 60_000, evictAfterMs: 120_000 }));
  heartbeat(core, 0, "a", 1);
  heartbeat(core, 0, "b", 1);
  return core;
}

describe("spread batches in the dispatcher", () => {
  it("without a live root the answer is no_overlay and no task is created", () => {
    const core = new DispatcherCore(testConfig());
    const outputs = core.onPacket(0, CLI, request(4));
    expect(resultOf(outputs).status).toBe("no_overlay");
    expect(core.taskState(0, spreadTaskId(BATCH, 0))).toBe("unknown");
  });

  it("creates the batch once, asks the root, and holds the tasks for claims", () => {
    const core = coreWithOverlay();
    const outputs = core.onPacket(10, CLI, request(4));
    expect(resultOf(outputs)).toMatchObject({ status: "spreading", count: 4, claimedCount: 0 });
    expect(sends(outputs, "spread.start")).toEqual([
      { v: 1, type: "spread.start", from: "disp-1", batchId: BATCH, count: 4 },
    ]);
    expect(sends(outputs, "task.assign")).toEqual([]);
    // A repeat is answered with progress and creates nothing new.
    const again = core.onPacket(20, CLI, request(4));
    expect(sends(again, "spread.start")).toEqual([]);
    expect(resultOf(again).status).toBe("spreading");
    // Held tasks are not placed by the queue, even with free slots and a tick.
    expect(sends(core.onTick(100), "task.assign")).toEqual([]);
  });

  it("a claim gets its held tasks once; a repeat and another node's overlapping claim get nothing new", () => {
    const core = coreWithOverlay();
    core.onPacket(0, CLI, request(4));
    const first = core.onPacket(5, NODE.b, claim("b", 2, 2));
    expect(sends(first, "task.assign").map((p) => (p.type === "task.assign" ? p.taskId : ""))).toEqual([
      spreadTaskId(BATCH, 2),
      spreadTaskId(BATCH, 3),
    ]);
    expect(sends(first, "spread.claimed")).toEqual([
      { v: 1, type: "spread.claimed", from: "disp-1", batchId: BATCH, first: 2, assignedCount: 2 },
    ]);
    expect(core.holderOf(spreadTaskId(BATCH, 3))).toBe("b");
    const repeat = core.onPacket(6, NODE.b, claim("b", 2, 2));
    expect(sends(repeat, "task.assign")).toEqual([]);
    expect(sends(repeat, "spread.claimed")).toMatchObject([{ assignedCount: 2 }]);
    const overlap = core.onPacket(7, NODE.a, claim("a", 0, 4));
    expect(sends(overlap, "spread.claimed")).toMatchObject([{ assignedCount: 2 }]);
    expect(core.holderOf(spreadTaskId(BATCH, 3))).toBe("b");
    expect(resultOf(core.onPacket(8, CLI, request(4))).claimedCount).toBe(4);
  });

  it("refuses a claim from an earlier incarnation of the node, and one beyond the batch", () => {
    const core = coreWithOverlay();
    core.onPacket(0, CLI, request(4));
    expect(core.onPacket(5, NODE.b, claim("b", 0, 2, 0))).toEqual([
      { kind: "packet_dropped", reason: "spread_stale_boot", type: "spread.claim" },
    ]);
    expect(core.onPacket(5, NODE.b, claim("b", 3, 2))).toEqual([
      { kind: "packet_dropped", reason: "unknown_task", type: "spread.claim" },
    ]);
  });

  it("the wave's end places what nobody claimed; a later claim gets nothing", () => {
    const core = coreWithOverlay();
    core.onPacket(0, CLI, request(4));
    core.onPacket(5, NODE.b, claim("b", 2, 2));
    const end: Packet = {
      v: 1,
      type: "spread.end",
      from: "a",
      batchId: BATCH,
      status: "timed_out",
      waveId: 9,
      nodeCount: 2,
      actedCount: 1,
      waveMessages: 1,
      shares: [
        { id: "a", share: 2 },
        { id: "b", share: 2 },
      ],
    };
    const outputs = core.onPacket(50, NODE.a, end);
    expect(sends(outputs, "task.assign")).toHaveLength(2);
    expect(outputs).toContainEqual({
      kind: "spread_ended",
      batchId: BATCH,
      status: "timed_out",
      claimedCount: 2,
      replacedCount: 2,
      waveMessages: 1,
    });
    const late = core.onPacket(60, NODE.a, claim("a", 0, 2));
    expect(sends(late, "task.assign")).toEqual([]);
    expect(resultOf(core.onPacket(70, CLI, request(4)))).toMatchObject({
      status: "timed_out",
      replacedCount: 2,
      shares: [
        { id: "a", share: 2, claimed: 0 },
        { id: "b", share: 2, claimed: 2 },
      ],
    });
  });

  it("a root that never answers: the root is asked again, then the held tasks are placed anyway", () => {
    const core = coreWithOverlay();
    core.onPacket(0, CLI, request(3));
    expect(sends(core.onTick(600), "spread.start")).toHaveLength(1);
    const outputs = core.onTick(SPREAD_END_WAIT_MS);
    expect(sends(outputs, "task.assign")).toHaveLength(3);
    expect(outputs).toContainEqual(expect.objectContaining({ kind: "spread_ended", status: "timed_out" }));
  });

  it("a spread task's final answer is kept for `result ID` but never sent to the requester", () => {
    const core = coreWithOverlay();
    core.onPacket(0, CLI, request(1));
    core.onPacket(5, NODE.b, claim("b", 0, 1));
    const taskId = spreadTaskId(BATCH, 0);
    const done: Packet = { v: 1, type: "task.done", from: "b", taskId, attempt: 1, result: "a".repeat(64) };
    const outputs = core.onPacket(10, NODE.b, done);
    expect(outputs.filter((o) => o.kind === "send" && o.to === CLI)).toEqual([]);
    expect(core.finalOf(10, taskId)).toMatchObject({ type: "task.result", result: "a".repeat(64) });
    expect(resultOf(core.onPacket(20, CLI, request(1)))).toMatchObject({ succeededCount: 1, failedCount: 0 });
  });

  it("never answers with more bytes than the request (an unpadded request gets no answer)", () => {
    const core = coreWithOverlay();
    const outputs = core.onPacket(0, CLI, request(4, false));
    expect(outputs).toContainEqual({ kind: "packet_dropped", reason: "amplification", type: "admin.spread" });
    expect(sends(outputs, "admin.spread.result")).toEqual([]);
  });
});
