/**
 * Goal: with a journal, kill -9 of the dispatcher loses nothing (SPEC 5.4). Tasks submitted (by a
 * socket and by `bin/cluster submit`) and acknowledged before the kill all run to exactly one final
 * answer after a restart on the same port, `bin/cluster result ID` returns each, and their answers
 * are still served (to `result ID` and to a repeated submit of the same id) after a second kill -9.
 * A journal path that is another file is refused with exit 2 naming it, and the file is left as it was.
 * Method: real processes on 127.0.0.1; a dgram socket in the test is the submitter (it stays up
 * across the restarts, as a client would); results are checked against SHA-256 computed here.
 */
import { createHash, randomUUID } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import Database from "libsql";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { signalChild } from "../../src/cluster/children.js";
import { JOURNAL_APPLICATION_ID, SqliteJournalStore } from "../../src/journal/sqlite-store.js";
import { requireBuild, runToEnd, startCalculator, startDispatcher, stopAll, tempDir } from "./harness.js";

const E2E_TIMEOUT_MS = 120_000;
const TASK_COUNT = 20;

function expected(input: string, rounds: number): string {
  let h = input;
  for (let i = 0; i < rounds; i += 1) h = createHash("sha256").update(h, "utf8").digest("hex");
  return h;
}

interface Submitter {
  readonly socket: Socket;
  /** Every packet received, by type then task id. */
  readonly seen: { type: string; taskId: string; result?: string; reason?: string }[];
  submit(port: number, taskId: string, input: string, rounds: number): void;
}

async function submitter(): Promise<Submitter> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const seen: Submitter["seen"] = [];
  socket.on("message", (bytes) => {
    const packet = JSON.parse(bytes.toString("utf8")) as { type: string; packets?: unknown[] };
    const packets = packet.type === "batch" ? (packet.packets as Submitter["seen"]) : [packet as Submitter["seen"][0]];
    seen.push(...packets);
  });
  return {
    socket,
    seen,
    submit(port, taskId, input, rounds) {
      const packet = { v: 1, type: "task.submit", from: "e2e-submitter", taskId, input, rounds };
      socket.send(Buffer.from(JSON.stringify(packet)), port, "127.0.0.1");
    },
  };
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const startedMs = performance.now();
  while (!condition()) {
    if (performance.now() - startedMs > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A line the child logged before it said "dispatcher started" (the harness waits for that one); the log file may lag. */
async function logLine(dir: string, name: string, msg: string): Promise<Record<string, unknown>> {
  let line: Record<string, unknown> | undefined;
  await until(
    () => {
      const lines = readFileSync(join(dir, `${name}.log`), "utf8")
        .split("\n")
        .filter((l) => l.startsWith("{"));
      line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l["msg"] === msg);
      return line !== undefined;
    },
    10_000,
    `${name} to log "${msg}"`,
  );
  return line as Record<string, unknown>;
}

const cli = (port: number): string[] => ["--dispatcher", `127.0.0.1:${port}`, "--timeout-ms", "10000"];

const finalsOf = (s: Submitter, taskId: string) =>
  s.seen.filter((p) => p.taskId === taskId && (p.type === "task.result" || p.type === "task.failed"));

describe("journal (e2e)", () => {
  beforeAll(requireBuild);
  afterEach(stopAll);

  it(
    "kill -9 right after the acknowledgements: every task completes exactly once after a restart, and answers survive a second kill -9",
    async () => {
      const dir = tempDir();
      const journal = join(dir, "journal.db");
      const first = await startDispatcher(dir, ["--journal", journal, "--queue-timeout-ms", "60000"]);
      const port = first.port;
      const s = await submitter();
      const tasks = Array.from({ length: TASK_COUNT }, (_, i) => ({
        taskId: randomUUID(),
        input: `task-${i}`,
        rounds: 1 + i,
      }));
      for (const t of tasks) s.submit(port, t.taskId, t.input, t.rounds);
      await until(
        () => tasks.every((t) => s.seen.some((p) => p.taskId === t.taskId && p.type === "task.ack")),
        10_000,
        "acks",
      );
      // And some through the operator CLI: `cluster submit` prints the id once the dispatcher has it.
      const cliTasks: { taskId: string; input: string; rounds: number }[] = [];
      for (let i = 0; i < 3; i += 1) {
        const input = `cli-${i}`;
        const run = await runToEnd("cluster", ["submit", ...cli(port), "--input", input, "--rounds", "2", "--json"]);
        expect(run.code, run.stderr).toBe(0);
        cliTasks.push({ taskId: (JSON.parse(run.stdout) as { id: string }).id, input, rounds: 2 });
      }
      // No calculator yet: nothing can have run. Acknowledged, then killed.
      signalChild(first.child, "SIGKILL");
      await first.child.exited;

      const second = await startDispatcher(dir, ["--journal", journal], port);
      const loaded = await logLine(dir, second.child.name, "journal loaded");
      expect(loaded["unfinished"]).toBe(TASK_COUNT + cliTasks.length);
      startCalculator(dir, "calc-1", port, ["--compute-ms", "0,50", "--capacity", "4"]);
      await until(() => tasks.every((t) => finalsOf(s, t.taskId).length > 0), 30_000, "final answers after restart");
      for (const t of tasks) {
        const finals = finalsOf(s, t.taskId);
        expect(finals).toHaveLength(1);
        expect(finals[0]?.result).toBe(expected(t.input, t.rounds));
      }

      for (const t of cliTasks) {
        const args = ["result", t.taskId, ...cli(port), "--wait", "--timeout-ms", "30000", "--json"];
        const run = await runToEnd("cluster", args, 40_000);
        expect(run.code, run.stderr).toBe(0);
        expect((JSON.parse(run.stdout) as { result: string }).result).toBe(expected(t.input, t.rounds));
      }
      signalChild(second.child, "SIGKILL");
      await second.child.exited;
      const third = await startDispatcher(dir, ["--journal", journal], port);
      const reloaded = await logLine(dir, third.child.name, "journal loaded");
      expect(reloaded["finals"]).toBe(TASK_COUNT + cliTasks.length);
      // `cluster result ID` after the second kill -9: served from the journal.
      for (const t of [...tasks.slice(0, 5), ...cliTasks]) {
        const run = await runToEnd("cluster", ["result", t.taskId, ...cli(port), "--json"]);
        expect(run.code, run.stderr).toBe(0);
        expect((JSON.parse(run.stdout) as { result: string }).result).toBe(expected(t.input, t.rounds));
      }
      expect(reloaded["unfinished"]).toBe(0);
      // Asking again for each id answers from the journal with the same result, not a new run.
      for (const t of tasks) s.submit(port, t.taskId, t.input, t.rounds);
      await until(() => tasks.every((t) => finalsOf(s, t.taskId).length === 2), 10_000, "answers from the journal");
      for (const t of tasks) expect(finalsOf(s, t.taskId)[1]?.result).toBe(expected(t.input, t.rounds));
      s.socket.close();
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "a full journal while running: new tasks are refused overloaded with the reason logged, nothing unstored is acknowledged, the dispatcher keeps running",
    async () => {
      const dir = tempDir();
      const config = join(dir, "dispatcher.json");
      // 64 KiB: SQLite's max_page_count, a real SQLITE_FULL, as a full disk gives.
      writeFileSync(config, JSON.stringify({ journal: { path: join(dir, "journal.db"), maxBytes: 65_536 } }));
      const { child, port } = await startDispatcher(dir, ["--config", config]);
      const s = await submitter();
      const failedLogged = child.waitForLog((l) => l.msg?.startsWith("journal write failed") === true, 90_000);
      let isFull = false;
      void failedLogged.then(() => {
        isFull = true;
      });
      // One task at a time, each answered (ack or refusal) before the next: every commit is one small
      // record, so the journal fills record by record however loaded the machine is. The task whose
      // record did not fit gets no answer at all (its receipt waits for the disk): the failure ends the wait.
      for (let i = 0; i < 2_000 && !isFull; i += 1) {
        const taskId = randomUUID();
        s.submit(port, taskId, "x".repeat(200), 1);
        await until(() => isFull || s.seen.some((p) => p.taskId === taskId), 20_000, `an answer to submit ${i}`);
      }
      const failure = await failedLogged;
      const refusedId = randomUUID();
      s.submit(port, refusedId, "y", 1);
      await until(() => s.seen.some((p) => p.taskId === refusedId), 20_000, "an answer to a submit while full");
      expect(s.seen.filter((p) => p.taskId === refusedId)).toEqual([
        expect.objectContaining({ type: "task.failed", reason: "overloaded" }),
      ]);
      expect(failure["code"]).toBe("full");
      // Every acknowledged task is in the journal: reopen it after the kill and compare.
      const acked = new Set(s.seen.filter((p) => p.type === "task.ack").map((p) => p.taskId));
      expect(acked.size).toBeGreaterThan(0);
      expect(child.process.exitCode).toBeNull();
      signalChild(child, "SIGKILL");
      await child.exited;
      const store = new SqliteJournalStore({ path: join(dir, "journal.db"), sync: "full", maxBytes: 1 << 30 });
      const stored = new Set(store.load().unfinished.map((t) => t.taskId));
      store.close();
      for (const taskId of acked) expect(stored.has(taskId)).toBe(true);
      s.socket.close();
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "starts on a journal with a damaged record, reports what it skipped, and runs the rest",
    async () => {
      const dir = tempDir();
      const path = join(dir, "journal.db");
      const store = new SqliteJournalStore({ path, sync: "full", maxBytes: 1 << 30 });
      const records = ["good-1", "damaged", "good-2"].map((input) => ({
        kind: "task" as const,
        task: {
          taskId: randomUUID(),
          clientHost: "127.0.0.1",
          clientPort: 9,
          input,
          rounds: 1,
          priority: 0,
          arrivedWallMs: Date.now(),
        },
      }));
      expect(store.commit(records)).toBeUndefined();
      store.checkpoint();
      store.close();
      const bytes = readFileSync(path);
      bytes.write("DAMAGED", bytes.indexOf("damaged"));
      writeFileSync(path, bytes);
      const { child } = await startDispatcher(dir, ["--journal", path]);
      const damaged = await logLine(
        dir,
        child.name,
        "journal damaged: 1 record(s) failed their checksum and were skipped (first: " + records[1]?.task.taskId + ")",
      );
      expect(damaged["skipped"]).toBe(1);
      expect((await logLine(dir, child.name, "journal loaded"))["unfinished"]).toBe(2);
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "refuses a journal path that is another file, another program's database, another journal version, or in a directory it cannot write, with exit 2 naming it, and leaves the file as it was",
    async () => {
      const dir = tempDir();
      const notes = join(dir, "notes.txt");
      writeFileSync(notes, "not a journal\n");
      const run = await runToEnd("run-dispatcher", ["--listen", "127.0.0.1:0", "--journal", notes]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(notes);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(readFileSync(notes, "utf8")).toBe("not a journal\n");
      // Another program's SQLite database, and a journal of another format version: refused, untouched.
      const other = join(dir, "other.db");
      const db = new Database(other);
      db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);");
      db.close();
      const newer = join(dir, "newer.db");
      const future = new Database(newer);
      future.exec(`PRAGMA application_id = ${JOURNAL_APPLICATION_ID}; PRAGMA user_version = 99; CREATE TABLE t (x);`);
      future.close();
      for (const [path, why] of [
        [other, "another program"],
        [newer, "format version 99"],
      ] as const) {
        const before = readFileSync(path);
        const refused = await runToEnd("run-dispatcher", ["--listen", "127.0.0.1:0", "--journal", path]);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toContain(path);
        expect(refused.stderr).toContain(why);
        expect(readFileSync(path).equals(before)).toBe(true);
      }
      const missing = join(dir, "no-such-dir", "journal.db");
      const unwritable = await runToEnd("run-dispatcher", ["--listen", "127.0.0.1:0", "--journal", missing]);
      expect(unwritable.code).toBe(2);
      expect(unwritable.stderr).toContain(missing);
    },
    E2E_TIMEOUT_MS,
  );
});
