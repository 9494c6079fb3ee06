/**
 * Goal: a task's own deadline (SPEC 8) survives a dispatcher restart: the journal records the
 * submit's `deadlineMs`, and a fresh core fed that record fails the task `deadline` at arrival +
 * deadlineMs by the wall clock, not a fresh deadline from the restart. Likewise an answer read back
 * stays fetchable only until results.ttlMs after it was first given, not ttlMs after the restart.
 * Method: a real DispatcherCore behind a JournalGate with an in-memory store; the stored record is
 * loaded into a second gate as after kill -9, with the wall clock moved on.
 */
import { describe, expect, it } from "vitest";

import { DispatcherCore } from "../../../src/dispatcher/core.js";
import { JournalGate } from "../../../src/journal/journal-gate.js";
import type { JournalContents, JournaledTask, JournalRecord } from "../../../src/journal/journal-store.js";
import { CLIENT, submit, task, testConfig } from "../dispatcher/fixtures.js";

function gateOver(core: DispatcherCore, committed: JournalRecord[][], wallMs: () => number): JournalGate {
  return new JournalGate({
    core,
    store: {
      load: () => ({ unfinished: [], finals: [], skippedCount: 0, damage: [] }),
      commit: (records) => {
        committed.push([...records]);
        return undefined;
      },
      expire: () => 0,
      checkpoint: () => {},
      sizeBytes: () => 0,
      close: () => {},
    },
    nodeId: "disp-1",
    wallMs,
    monoMs: () => 0,
    scheduleCommit: (commit) => commit(),
    retryLater: () => {},
    pendingRecordsMax: 100,
    onWriteFailure: () => {},
    onWriteRecovered: () => {},
  });
}

describe("journal and per-task deadlines", () => {
  it("records deadlineMs and restores it, counted from the task's arrival", () => {
    const committed: JournalRecord[][] = [];
    let wallMs = 1_000_000;
    const gate = gateOver(new DispatcherCore(testConfig({ ackDelayMs: 0 })), committed, () => wallMs);
    gate.onPacket(0, CLIENT, submit(1, { deadlineMs: 5_000 }));
    gate.onTick(0); // the receipt is due: the task's record is written before it leaves
    const record = committed.flat()[0];
    expect(record?.kind === "task" ? record.task.deadlineMs : undefined).toBe(5_000);

    wallMs += 3_000; // restarted 3 s after the task arrived: 2 s left
    const fresh = new DispatcherCore(testConfig());
    const contents: JournalContents = {
      unfinished: [(record as { task: JournaledTask }).task],
      finals: [],
      skippedCount: 0,
      damage: [],
    };
    gateOver(fresh, [], () => wallMs).recover(100, contents);
    expect(fresh.taskState(100, task(1))).toBe("queued");
    expect(fresh.nextDeadlineMs()).toBe(2_100);
    const failures = fresh.onTick(2_100).filter((o) => o.kind === "task_failed");
    expect(failures).toEqual([{ kind: "task_failed", taskId: task(1), reason: "deadline" }]);
  });

  it("an answer read back expires results.ttlMs after it was given, by the wall clock", () => {
    const wallMs = 1_000_000;
    const fresh = new DispatcherCore(testConfig({ resultsTtlMs: 10_000 }));
    const packet = { v: 1, type: "task.failed", from: "disp-1", taskId: task(1), reason: "cancelled" } as const;
    const contents: JournalContents = {
      unfinished: [],
      finals: [{ taskId: task(1), packetJson: JSON.stringify(packet), answeredWallMs: wallMs - 6_000 }],
      skippedCount: 0,
      damage: [],
    };
    gateOver(fresh, [], () => wallMs).recover(0, contents);
    expect(fresh.finalOf(3_999, task(1))).toEqual(packet);
    expect(fresh.finalOf(4_000, task(1))).toBeUndefined();
  });
});
