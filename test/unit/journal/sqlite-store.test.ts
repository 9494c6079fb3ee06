/**
 * Goal: the SQLite journal keeps what it committed across a reopen, refuses files it does not own
 * (another file, another program's database, another version) without changing them, reports a full
 * journal as a value, expires old answers so its size stays flat under steady load, and detects a
 * damaged record or page, skipping it and saying so instead of failing.
 * Method: real files in a temp dir; damage made by writing bytes into the file.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import Database from "libsql";
import { describe, expect, it } from "vitest";

import type { JournalRecord } from "../../../src/journal/journal-store.js";
import { JOURNAL_APPLICATION_ID, JournalOpenError, SqliteJournalStore } from "../../../src/journal/sqlite-store.js";

const dir = (): string => mkdtempSync(join(tmpdir(), "journal-test-"));
/** `normal`: these tests are about content, not power loss (recovery.property.test.ts uses `full`); fewer fsyncs on a shared disk. */
const open = (path: string, maxBytes = 64 * 1024 * 1024) => new SqliteJournalStore({ path, sync: "normal", maxBytes });

function task(i: number, arrivedWallMs = 1_000 + i): JournalRecord {
  const taskId = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
  return {
    kind: "task",
    task: {
      taskId,
      clientHost: "127.0.0.1",
      clientPort: 4000,
      input: `in-${i}`,
      rounds: 3,
      priority: 0,
      arrivedWallMs,
    },
  };
}

function final(i: number, answeredWallMs = 2_000 + i): JournalRecord {
  const taskId = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
  const packetJson = JSON.stringify({ v: 1, type: "task.failed", from: "d", taskId, reason: "timeout" });
  return { kind: "final", final: { taskId, packetJson, answeredWallMs } };
}

describe("SqliteJournalStore", () => {
  it("gives back after a reopen exactly what was committed: unfinished tasks and final answers", () => {
    const path = join(dir(), "j.db");
    const store = open(path);
    expect(store.commit([task(1), task(2), task(3)])).toBeUndefined();
    expect(store.commit([final(2)])).toBeUndefined();
    // No close: as after kill -9, the WAL holds the commits.
    const again = open(path);
    const contents = again.load();
    expect(contents.unfinished.map((t) => t.input)).toEqual(["in-1", "in-3"]);
    expect(contents.finals.map((f) => JSON.parse(f.packetJson).taskId)).toEqual([
      "00000000-0000-4000-8000-000000000002",
    ]);
    expect(contents.skippedCount).toBe(0);
    expect(contents.damage).toEqual([]);
    again.close();
    store.close();
  });

  it("refuses a path that is another file, another program's database, another version, or in a missing directory, and leaves the file as it was", () => {
    const d = dir();
    const text = join(d, "notes.txt");
    writeFileSync(text, "my precious notes, not a journal\n");
    expect(() => open(text)).toThrow(/notes\.txt exists and is not a udp-cluster journal/);
    expect(readFileSync(text, "utf8")).toBe("my precious notes, not a journal\n");

    const other = join(d, "other.db");
    const db = new Database(other);
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    db.close();
    const before = readFileSync(other);
    expect(() => open(other)).toThrow(/other\.db is an SQLite database of another program/);
    expect(readFileSync(other).equals(before)).toBe(true);

    const newer = join(d, "newer.db");
    const future = new Database(newer);
    future.exec(`PRAGMA application_id = ${JOURNAL_APPLICATION_ID}; PRAGMA user_version = 99; CREATE TABLE t (x);`);
    future.close();
    expect(() => open(newer)).toThrow(/newer\.db has format version 99/);

    expect(() => open(d)).toThrow(JournalOpenError);
    expect(() => open(join(d, "no", "such", "dir", "j.db"))).toThrow(/does not exist or is not writable/);
  });

  it("reports a full journal as a value and stores nothing of the failed batch", () => {
    const path = join(dir(), "j.db");
    const store = open(path, 65_536);
    let failure: ReturnType<typeof store.commit>;
    let committed = 0;
    for (let i = 0; i < 10_000 && failure === undefined; i += 1) {
      failure = store.commit([task(i)]);
      if (failure === undefined) committed += 1;
    }
    expect(failure?.code).toBe("full");
    expect(store.load().unfinished).toHaveLength(committed);
    store.close();
  }, 20_000);

  it("expires answers older than the ttl and beyond the maximum; the file stays flat under steady load", () => {
    const path = join(dir(), "j.db");
    const store = open(path);
    const sizes: number[] = [];
    for (let round = 0; round < 40; round += 1) {
      const records: JournalRecord[] = [];
      for (let i = 0; i < 200; i += 1) records.push(task(round * 200 + i, round), final(round * 200 + i, round));
      expect(store.commit(records)).toBeUndefined();
      store.expire(round - 5, 100_000); // answers live 5 rounds
      store.checkpoint();
      sizes.push(store.sizeBytes());
    }
    // 5 rounds of answers are kept: from round 10 on the file neither grows nor loses its records.
    expect(store.load().finals.length).toBe(6 * 200);
    expect(sizes[39]).toBeLessThanOrEqual((sizes[10] ?? 0) * 1.2);
    expect(store.expire(0, 100)).toBe(1_100);
    expect(store.load().finals.length).toBe(100);
    store.close();
  }, 20_000);

  it("skips a record whose bytes were damaged, reports it, and keeps the rest", () => {
    const path = join(dir(), "j.db");
    const store = open(path);
    store.commit([task(1), task(2), task(3)]);
    store.checkpoint();
    store.close();
    const bytes = readFileSync(path);
    const at = bytes.indexOf(Buffer.from("in-2"));
    expect(at).toBeGreaterThan(0);
    const fd = openSync(path, "r+");
    writeSync(fd, Buffer.from("XX-2"), 0, 4, at);
    closeSync(fd);
    const contents = open(path).load();
    expect(contents.unfinished.map((t) => t.input)).toEqual(["in-1", "in-3"]);
    expect(contents.skippedCount).toBe(1);
    expect(contents.damage.join(" ")).toMatch(/1 record\(s\) failed their checksum/);
  });

  it("survives a damaged page in the middle: saves what it can read, keeps the damaged file aside, starts", () => {
    const path = join(dir(), "j.db");
    const store = open(path);
    for (let b = 0; b < 20; b += 1) store.commit(Array.from({ length: 50 }, (_, i) => task(b * 50 + i)));
    store.checkpoint();
    store.close();
    const size = statSync(path).size;
    const fd = openSync(path, "r+");
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, Math.floor(size / 4096 / 2) * 4096);
    closeSync(fd);
    const again = open(path);
    const contents = again.load();
    expect(contents.damage.join(" ")).toMatch(/SQLite found damage/);
    expect(contents.damage.join(" ")).toMatch(/damaged file kept as .*j\.db\.damaged-1/);
    expect(contents.unfinished.length).toBeGreaterThan(0);
    expect(contents.unfinished.length).toBeLessThan(1_000);
    expect(again.commit([task(5_000)])).toBeUndefined();
    expect(statSync(`${path}.damaged-1`).size).toBe(size);
  }, 20_000);
});
