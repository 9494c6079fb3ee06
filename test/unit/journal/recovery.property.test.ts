/**
 * Goal: recovery gives back exactly the acknowledged prefix. For random sequences of commits (tasks
 * accepted, answers given, expiry) and a crash at a random point, the journal read back equals the
 * model of every commit that returned before the crash; with a torn write-ahead-log tail on top
 * (the last write cut short), it equals the model after some earlier commit: never a partial batch,
 * never a record that was not committed, never an exception.
 * Method: fast-check drives a real SqliteJournalStore; the crash copies the files as they are on
 * disk without closing the store (what kill -9 leaves), and the copy is opened by a fresh store.
 */
import { copyFileSync, existsSync, mkdtempSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import fc from "fast-check";
import { describe, expect, it } from "vitest";

import type { JournalContents, JournalRecord } from "../../../src/journal/journal-store.js";
import { SqliteJournalStore } from "../../../src/journal/sqlite-store.js";

type Op =
  | { readonly kind: "accept"; readonly count: number }
  | { readonly kind: "answer"; readonly pick: number }
  | { readonly kind: "expire"; readonly keep: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("accept" as const), count: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant("answer" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("expire" as const), keep: fc.integer({ min: 0, max: 8 }) }),
);

/** What the journal must hold: unfinished task ids and answered ids (with their answer time). */
interface Model {
  readonly unfinished: Set<string>;
  readonly finals: Map<string, number>;
}

const idOf = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

function snapshot(model: Model): { unfinished: string[]; finals: string[] } {
  return { unfinished: [...model.unfinished].sort(), finals: [...model.finals.keys()].sort() };
}

function view(contents: JournalContents): { unfinished: string[]; finals: string[] } {
  return {
    unfinished: contents.unfinished.map((t) => t.taskId).sort(),
    finals: contents.finals.map((f) => f.taskId).sort(),
  };
}

/** Applies one op to the store (as one commit or one expiry) and to the model. */
function apply(store: SqliteJournalStore, model: Model, op: Op, clock: { n: number; nextId: number }): void {
  clock.n += 1;
  if (op.kind === "accept") {
    const records: JournalRecord[] = [];
    for (let i = 0; i < op.count; i += 1) {
      const taskId = idOf(clock.nextId++);
      records.push({
        kind: "task",
        task: {
          taskId,
          clientHost: "127.0.0.1",
          clientPort: 1,
          input: "x",
          rounds: 1,
          priority: 0,
          arrivedWallMs: clock.n,
        },
      });
      model.unfinished.add(taskId);
    }
    expect(store.commit(records)).toBeUndefined();
  } else if (op.kind === "answer") {
    const open = [...model.unfinished];
    if (open.length === 0) return;
    const taskId = open[op.pick % open.length] as string;
    const packetJson = JSON.stringify({ v: 1, type: "task.failed", from: "d", taskId, reason: "timeout" });
    expect(store.commit([{ kind: "final", final: { taskId, packetJson, answeredWallMs: clock.n } }])).toBeUndefined();
    model.unfinished.delete(taskId);
    model.finals.set(taskId, clock.n);
  } else {
    store.expire(Number.NEGATIVE_INFINITY, op.keep);
    const newestFirst = [...model.finals.entries()].sort((a, b) => b[1] - a[1]);
    for (const [taskId] of newestFirst.slice(op.keep)) model.finals.delete(taskId);
  }
}

/** Copies the journal's files as they are now (the store stays open: a crash, not a shutdown). */
function crashCopy(path: string): string {
  const copy = join(mkdtempSync(join(tmpdir(), "journal-crash-")), "j.db");
  copyFileSync(path, copy);
  if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`);
  return copy;
}

describe("journal recovery (property)", () => {
  it("after a crash at a random point, recovery equals the acknowledged prefix", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 14 }), fc.nat(), (ops, crashPick) => {
        const path = join(mkdtempSync(join(tmpdir(), "journal-prop-")), "j.db");
        const store = new SqliteJournalStore({ path, sync: "full", maxBytes: 64 * 1024 * 1024 });
        const model: Model = { unfinished: new Set(), finals: new Map() };
        const clock = { n: 0, nextId: 1 };
        const crashAt = crashPick % (ops.length + 1);
        for (const op of ops.slice(0, crashAt)) apply(store, model, op, clock);
        const copy = crashCopy(path);
        store.close();
        const recovered = new SqliteJournalStore({ path: copy, sync: "full", maxBytes: 64 * 1024 * 1024 });
        expect(view(recovered.load())).toEqual(snapshot(model));
        recovered.close();
      }),
      { numRuns: 40 },
    );
  }, 60_000);

  it("with a torn log tail, recovery equals the state after some earlier commit, never a partial batch", () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 8_192 }),
        (ops, cutBytes) => {
          const path = join(mkdtempSync(join(tmpdir(), "journal-torn-")), "j.db");
          const store = new SqliteJournalStore({ path, sync: "full", maxBytes: 64 * 1024 * 1024 });
          const model: Model = { unfinished: new Set(), finals: new Map() };
          const clock = { n: 0, nextId: 1 };
          const prefixes = [JSON.stringify(snapshot(model))];
          for (const op of ops) {
            apply(store, model, op, clock);
            prefixes.push(JSON.stringify(snapshot(model)));
          }
          const copy = crashCopy(path);
          store.close();
          if (existsSync(`${copy}-wal`)) {
            const size = statSync(`${copy}-wal`).size;
            truncateSync(`${copy}-wal`, Math.max(0, size - cutBytes));
          }
          const recovered = new SqliteJournalStore({ path: copy, sync: "full", maxBytes: 64 * 1024 * 1024 });
          expect(prefixes).toContain(JSON.stringify(view(recovered.load())));
          recovered.close();
        },
      ),
      { numRuns: 30 },
    );
  }, 60_000);
});
