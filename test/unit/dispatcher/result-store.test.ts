/**
 * Goal: final answers stay fetchable by task id for exactly `results.ttlMs` after they were given and
 * at most `results.max` of them are kept (the oldest go first, counted), SPEC 3 and 8; the keys are in
 * the dispatcher's config with SPEC 3's defaults and reach the core; the core uses whatever
 * ResultStore it is given; an answer read back after a restart expires by its real age.
 * Method: MemoryResultStore and a DispatcherCore driven with explicit nowMs; the operator's view is the
 * core's answer to a `task.query` (task.failed / task.unknown), as `cluster result ID` sees it.
 */
import { describe, expect, it } from "vitest";

import { dispatcherCoreConfig } from "../../../src/cli/dispatcher.js";
import { ConfigError, parseConfig } from "../../../src/config/load.js";
import { DispatcherFileConfig } from "../../../src/config/schema.js";
import { DispatcherCore } from "../../../src/dispatcher/core.js";
import { type FinalPacket, MemoryResultStore, type ResultStore } from "../../../src/dispatcher/result-store.js";
import type { Packet } from "../../../src/protocol/packet.js";
import { CLIENT, Harness, task, testConfig } from "./fixtures.js";

function failed(n: number): FinalPacket {
  return { v: 1, type: "task.failed", from: "disp-1", taskId: task(n), reason: "cancelled" };
}

/** What the dispatcher answers `cluster result ID` (a task.query) about task n at nowMs. */
function queryType(core: DispatcherCore, nowMs: number, n: number): string {
  const query: Packet = { v: 1, type: "task.query", from: "cluster-cli", taskId: task(n) };
  const [output] = core.onPacket(nowMs, CLIENT, query);
  return output?.kind === "send" ? output.packet.type : "none";
}

describe("MemoryResultStore", () => {
  it("keeps an answer for exactly ttlMs after it was given", () => {
    const store = new MemoryResultStore({ ttlMs: 1_000, max: 10 });
    store.put(500, task(1), failed(1));
    expect(store.get(1_499, task(1))).toEqual(failed(1));
    expect(store.get(1_500, task(1))).toBeUndefined();
    store.put(2_000, task(2), failed(2));
    store.expire(3_000);
    expect(store.size).toBe(0);
  });

  it("keeps at most max answers, evicting the oldest first and counting it", () => {
    const store = new MemoryResultStore({ ttlMs: 60_000, max: 3 });
    for (const n of [1, 2, 3, 4, 5]) store.put(n, task(n), failed(n));
    expect([1, 2, 3, 4, 5].map((n) => store.get(10, task(n)) !== undefined)).toEqual([false, false, true, true, true]);
    expect([store.size, store.evictedCount]).toEqual([3, 2]);
  });

  it("an answer read back with its age expires when it would have", () => {
    const store = new MemoryResultStore({ ttlMs: 1_000, max: 10 });
    store.put(10_000, task(1), failed(1), 700);
    expect(store.get(10_299, task(1))).toEqual(failed(1));
    expect(store.get(10_300, task(1))).toBeUndefined();
  });
});

describe("the dispatcher's results", () => {
  it("`results` has SPEC 3's defaults, refuses nonsense, and reaches the core", () => {
    const defaults = dispatcherCoreConfig(parseConfig(DispatcherFileConfig, {}, "test.json"), 1);
    expect([defaults.resultsTtlMs, defaults.resultsMax]).toEqual([3_600_000, 100_000]);
    const set = parseConfig(DispatcherFileConfig, { results: { ttlMs: 2_000, max: 5 } }, "test.json");
    expect([dispatcherCoreConfig(set, 1).resultsTtlMs, dispatcherCoreConfig(set, 1).resultsMax]).toEqual([2_000, 5]);
    for (const results of [{ max: 0 }, { ttlMs: 0 }, { ttlMs: 1.5 }, { size: 3 }]) {
      expect(() => parseConfig(DispatcherFileConfig, { results }, "test.json")).toThrow(ConfigError);
    }
  });

  it("answers `result ID` with the answer until ttlMs after it was given, then task.unknown", () => {
    const h = new Harness({ resultsTtlMs: 5_000 });
    h.core.onPacket(100, CLIENT, { v: 1, type: "task.cancel", from: "client-1", taskId: task(1) });
    expect(queryType(h.core, 5_099, 1)).toBe("task.failed");
    expect(queryType(h.core, 5_100, 1)).toBe("task.unknown");
    expect(h.core.taskState(5_100, task(1))).toBe("unknown");
  });

  it("keeps the newest results.max answers: the oldest becomes unknown", () => {
    const h = new Harness({ resultsMax: 2 });
    for (const n of [1, 2, 3])
      h.core.onPacket(n, CLIENT, { v: 1, type: "task.cancel", from: "client-1", taskId: task(n) });
    expect([1, 2, 3].map((n) => queryType(h.core, 10, n))).toEqual(["task.unknown", "task.failed", "task.failed"]);
    expect(h.core.resultsEvictedCount).toBe(1);
  });

  it("uses the ResultStore it is given for every answer it keeps and serves", () => {
    const kept = new Map<string, FinalPacket>();
    const calls: string[] = [];
    const store: ResultStore = {
      get: (_nowMs, taskId) => kept.get(taskId),
      put: (_nowMs, taskId, packet) => {
        calls.push(`put ${packet.type}`);
        kept.set(taskId, packet);
      },
      expire: () => {},
      get size() {
        return kept.size;
      },
      evictedCount: 0,
    };
    const core = new DispatcherCore(testConfig(), store);
    core.onPacket(0, CLIENT, { v: 1, type: "task.cancel", from: "client-1", taskId: task(1) });
    expect(calls).toEqual(["put task.failed"]);
    kept.set(task(2), failed(2)); // e.g. put there by another dispatcher or read from disk
    expect(queryType(core, 1, 2)).toBe("task.failed");
    expect(core.counts().cachedResults).toBe(2);
  });
});
