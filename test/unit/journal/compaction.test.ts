/**
 * Goal: the journal of a running dispatcher stays flat under a steady load (issue 11 item 2): answered
 * tasks leave it once their answers are older than the results' time to live, and the file's size
 * stops growing after the first few time-to-live periods instead of growing with every task.
 * Method: the real dispatcher shell (startDispatcher) with a real SQLite journal in a temp dir, a
 * ManualClock (its wall clock moves with it) and a transport that only records. No calculators: every
 * task is answered `timeout` after queueTimeoutMs, which gives one task record and one answer per
 * task, as a completed task does. 100 tasks/s for 60 simulated seconds (12 time-to-live periods);
 * the size is read each simulated second, after the shell's own maintenance timer has run.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { pino } from "pino";
import { describe, expect, it } from "vitest";

import { startDispatcher } from "../../../src/dispatcher/daemon.js";
import type { DispatcherCoreConfig } from "../../../src/dispatcher/types.js";
import { SqliteJournalStore } from "../../../src/journal/sqlite-store.js";
import { ManualClock } from "../../../src/runtime/clock.js";
import type { Datagram, Endpoint, Transport } from "../../../src/transport/transport.js";
import { CLIENT, submit, testConfig } from "../dispatcher/fixtures.js";

/** Records what the dispatcher sends; the test hands it datagrams. */
class Wire implements Transport {
  readonly local: Endpoint = { host: "127.0.0.1", port: 5555 };
  receive: ((datagram: Datagram) => void) | undefined;
  answers = 0;
  send(_to: Endpoint, bytes: Uint8Array): void {
    const text = Buffer.from(bytes).toString("utf8");
    if (text.includes('"task.failed"') || text.includes('"task.result"')) this.answers += 1;
  }
  onReceive(handler: (datagram: Datagram) => void): void {
    this.receive = handler;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const TTL_MS = 5_000;
const STEP_MS = 100;
const TASKS_PER_STEP = 10;
const SECONDS = 60;
/**
 * Answers kept for TTL_MS, and more of them than the test makes. Both spellings of the results keys:
 * the core's resultsCache* keys are being renamed to SPEC 3's results (resultsTtlMs, resultsMax).
 */
const RESULTS = {
  resultsCacheTtlMs: TTL_MS,
  resultsCacheMax: 100_000,
  resultsTtlMs: TTL_MS,
  resultsMax: 100_000,
} as Partial<DispatcherCoreConfig>;

describe("journal compaction under steady load", () => {
  it("keeps the file flat: answers leave it after the time to live, the size stops growing", async () => {
    const clock = new ManualClock();
    const wire = new Wire();
    const store = new SqliteJournalStore({
      path: join(mkdtempSync(join(tmpdir(), "journal-compaction-")), "journal.db"),
      sync: "normal",
      maxBytes: 1 << 30,
    });
    const turnEnds: (() => void)[] = [];
    const endTurn = (): void => {
      for (const commit of turnEnds.splice(0)) commit();
    };
    const dispatcher = startDispatcher({
      config: testConfig({ queueTimeoutMs: 1_000, ...RESULTS }),
      tickMs: 10,
      transport: wire,
      clock,
      log: pino({ level: "silent" }),
      journal: { store, wallMs: () => 1_700_000_000_000 + clock.nowMs(), scheduleCommit: (c) => turnEnds.push(c) },
    });
    const sizesBytes: number[] = [];
    let n = 0;
    for (let step = 1; step <= (SECONDS * 1_000) / STEP_MS; step += 1) {
      for (let i = 0; i < TASKS_PER_STEP; i += 1) {
        n += 1;
        wire.receive?.({ from: CLIENT, bytes: Buffer.from(JSON.stringify(submit(n))) });
      }
      endTurn();
      clock.advance(STEP_MS);
      endTurn();
      if ((step * STEP_MS) % 1_000 === 0) sizesBytes.push(store.sizeBytes());
    }
    const contents = store.load();
    await dispatcher.stop();
    // Every task got its one answer; only about TTL_MS worth of them (100/s) is still in the journal.
    expect(wire.answers).toBeGreaterThan(n - 2 * 100);
    expect(contents.finals.length).toBeGreaterThan(((TTL_MS - 1_000) / 1_000) * 100);
    expect(contents.finals.length).toBeLessThanOrEqual(((TTL_MS + 2_000) / 1_000) * 100);
    expect(contents.unfinished.length).toBeLessThanOrEqual(2 * 100);
    // Flat: after 3 time-to-live periods the file does not grow (6 000 tasks went through; without
    // expiry it would be 4 times the size at 15 s by the end).
    const at15s = sizesBytes[14] ?? 0;
    expect(at15s).toBeGreaterThan(0);
    expect(Math.max(...sizesBytes.slice(15))).toBeLessThanOrEqual(at15s * 1.25);
  }, 60_000);
});
