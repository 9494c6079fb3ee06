/**
 * Goal: the real writer thread stores what it is sent, answers in the order it was sent, runs
 * expiry and checkpoints between commits without an SQLITE_BUSY (one connection does all the
 * writing), and ends cleanly; what it stored is what the store loads afterwards.
 * Method: the built worker (dist/, as the daemon runs it: a worker thread cannot load TypeScript)
 * on a temp journal created by SqliteJournalStore; commits sent back to back so several queue and
 * are merged into one transaction, with maintenance rounds in between.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import type { JournalMaintenance, JournalRecord, JournalWriteFailure } from "../../../src/journal/journal-store.js";
import { ThreadJournalWriter } from "../../../src/journal/journal-thread.js";
import { SqliteJournalStore } from "../../../src/journal/sqlite-store.js";

const DIST = new URL("../../../dist/src/journal/", import.meta.url);

function record(i: number, isFinal: boolean): JournalRecord {
  const taskId = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
  if (!isFinal) {
    const task = { taskId, clientHost: "127.0.0.1", clientPort: 4000, input: `in-${i}`, rounds: 1, priority: 0 };
    return { kind: "task", task: { ...task, arrivedWallMs: 1_000 + i } };
  }
  const packetJson = JSON.stringify({ v: 1, type: "task.failed", from: "d", taskId, reason: "timeout" });
  return { kind: "final", final: { taskId, packetJson, answeredWallMs: 2_000 + i } };
}

describe("the journal's writer thread", () => {
  it("stores batches sent back to back, answers them in order, maintains between them without a busy error, and closes", async () => {
    expect(existsSync(fileURLToPath(new URL("journal-thread-worker.js", DIST))), "run npm run build first").toBe(true);
    const path = join(mkdtempSync(join(tmpdir(), "journal-thread-")), "j.db");
    const options = { path, sync: "normal" as const, maxBytes: 64 * 1024 * 1024 };
    const store = new SqliteJournalStore(options); // creates and checks the file, as at a daemon's start
    const writer = new ThreadJournalWriter(
      { moduleUrl: new URL("sqlite-store.js", DIST).href, options },
      new URL("journal-thread-worker.js", DIST),
    );
    const answered: string[] = [];
    const failures: (JournalWriteFailure | undefined)[] = [];
    const maintenance: JournalMaintenance[] = [];
    const all: Promise<void>[] = [];
    for (let batch = 0; batch < 20; batch += 1) {
      // Tasks 10b..10b+9; the even ones answered in the next batch (answeredWallMs 2 000 + i: expired below).
      const records = Array.from({ length: 10 }, (_, k) => record(batch * 10 + k, false));
      if (batch > 0) records.push(...Array.from({ length: 5 }, (_, k) => record((batch - 1) * 10 + 2 * k, true)));
      all.push(
        new Promise((resolve) =>
          writer.commit(records, (failure) => {
            answered.push(`commit ${batch}`);
            failures.push(failure);
            resolve();
          }),
        ),
      );
      if (batch % 5 === 4) {
        all.push(
          new Promise((resolve) =>
            writer.maintain(2_000 + 30, 1_000, (result) => {
              answered.push(`maintain ${batch}`);
              maintenance.push(result);
              resolve();
            }),
          ),
        );
      }
    }
    await Promise.all(all);
    await writer.close();
    const expected = Array.from({ length: 20 }, (_, b) => [`commit ${b}`, ...(b % 5 === 4 ? [`maintain ${b}`] : [])]);
    expect(answered).toEqual(expected.flat());
    expect(failures.every((f) => f === undefined)).toBe(true);
    expect(maintenance.every((m) => "expired" in m)).toBe(true);
    expect(maintenance.reduce((sum, m) => sum + ("expired" in m ? m.expired : 0), 0)).toBe(15); // tasks 0-28 even, answered before 2 030
    expect(writer.waitingCount).toBe(0);
    store.close();

    const contents = new SqliteJournalStore(options).load();
    expect(contents.unfinished).toHaveLength(200 - 95); // 19 batches answered 5 tasks each
    expect(contents.finals).toHaveLength(95 - 15);
    expect(contents.damage).toEqual([]);
  });
});
