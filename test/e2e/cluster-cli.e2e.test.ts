/**
 * Goal: `bin/cluster` does what SPEC 8 says against a real dispatcher: status and calculators tables
 * and --json, submit (--wait, --priority, --fallback-local), status ID, result ID (exit 0/1/3), cancel
 * ID; bad flags exit 2 before anything is sent; a dispatcher that does not answer gives exit 1 naming
 * the address.
 * Method: real dispatcher and calculator on 127.0.0.1 port 0; each verb run to its end.
 */
import { createSocket } from "node:dgram";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { requireBuild, runToEnd, startCalculator, startDispatcher, stopAll, tempDir, waitForMsg } from "./harness.js";

const E2E_TIMEOUT_MS = 120_000;
const UNKNOWN_ID = "3f2a1c9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";

describe("bin/cluster verbs", () => {
  beforeAll(() => requireBuild());
  afterEach(() => stopAll());

  it(
    "status, calculators, submit, result, cancel against a running dispatcher",
    async () => {
      const dir = tempDir();
      const { port } = await startDispatcher(dir);
      // Generous: CLI processes start slowly on a loaded machine.
      const at = ["--dispatcher", `127.0.0.1:${port}`, "--timeout-ms", "15000"];
      // No calculator yet: a submitted task stays queued, so "not finished" does not race anything.
      const id = (await runToEnd("cluster", ["submit", "--input", "later", "--priority", "9", ...at])).stdout.trim();
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      const queued = await runToEnd("cluster", ["result", id, ...at]);
      expect([queued.code, queued.stdout.trim()]).toEqual([3, `${id} queued`]);
      expect((await runToEnd("cluster", ["status", id, ...at])).stdout.trim()).toBe(`${id} queued`);
      const toCancel = (await runToEnd("cluster", ["submit", "--input", "x", ...at])).stdout.trim();
      const cancelled = await runToEnd("cluster", ["cancel", toCancel, ...at]);
      expect([cancelled.code, cancelled.stdout.trim()]).toEqual([0, `${toCancel} cancelled`]);
      expect((await runToEnd("cluster", ["status", toCancel, ...at])).stdout.trim()).toBe(
        `${toCancel} failed cancelled`,
      );

      startCalculator(dir, "calc-a", port, ["--compute-ms", "200,200", "--capacity", "2"]);
      const result = await runToEnd("cluster", ["result", id, "--wait", ...at, "--timeout-ms", "30000"], 40_000);
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
      const calculators = JSON.parse((await runToEnd("cluster", ["calculators", "--json", ...at])).stdout);
      expect(calculators).toEqual([expect.objectContaining({ id: "calc-a", state: "alive", capacity: 2 })]);
      const table = await runToEnd("cluster", ["calculators", ...at]);
      expect(table.stdout).toMatch(/^id\s+address\s+state\s+capacity\s+running\s+failure rate\s+latency\s+last seen/);

      const waited = await runToEnd("cluster", ["submit", "--input", "abc", "--wait", "--json", ...at], 40_000);
      expect(waited.code).toBe(0);
      expect(JSON.parse(waited.stdout).result).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
      const summary = await runToEnd("cluster", ["status", "--json", ...at]);
      expect(JSON.parse(summary.stdout).tasks).toMatchObject({ succeeded: 2, failed: 1 });
      const unknown = await runToEnd("cluster", ["result", UNKNOWN_ID, ...at]);
      expect([unknown.code, unknown.stdout.trim()]).toEqual([1, `${UNKNOWN_ID} unknown`]);
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "submit --deadline-ms: a queued task and a running one both end `deadline`; the running copy is cancelled",
    async () => {
      const dir = tempDir();
      const { port, child } = await startDispatcher(dir);
      const at = ["--dispatcher", `127.0.0.1:${port}`, "--timeout-ms", "20000"];
      // No calculator: the task waits in the queue until its own deadline (queueTimeoutMs is 60 s).
      const queued = await runToEnd("cluster", [
        "submit",
        "--input",
        "q",
        "--deadline-ms",
        "400",
        "--wait",
        "--json",
        ...at,
      ]);
      expect(queued.code).toBe(1);
      const view = JSON.parse(queued.stdout) as { id: string; state: string; reason: string };
      expect(view).toMatchObject({ state: "failed", reason: "deadline" });
      const again = await runToEnd("cluster", ["result", view.id, ...at]);
      expect([again.code, again.stdout.trim()]).toEqual([1, `${view.id} failed deadline`]);

      // A calculator that takes 30 s: the task runs there when its deadline passes.
      startCalculator(dir, "calc-slow", port, ["--compute-ms", "30000,30000"]);
      await waitForMsg(child, "calculator registered", 20_000);
      const running = await runToEnd(
        "cluster",
        ["submit", "--input", "r", "--deadline-ms", "1500", "--wait", "--json", ...at],
        30_000,
      );
      expect([running.code, JSON.parse(running.stdout).reason]).toEqual([1, "deadline"]);
      // The calculator reports what it runs in every heartbeat: 0 once the cancel stopped the copy
      // (without it the copy would run for 30 s). Polled with a bound; each CLI run paces the loop.
      let reported: number | undefined;
      for (let attempt = 0; attempt < 40 && reported !== 0; attempt += 1) {
        const rows = JSON.parse((await runToEnd("cluster", ["calculators", "--json", ...at])).stdout);
        reported = (rows as { running: number }[])[0]?.running;
      }
      expect(reported).toBe(0);
      const summary = JSON.parse((await runToEnd("cluster", ["status", "--json", ...at])).stdout);
      expect(summary.tasks).toMatchObject({ queued: 0, running: 0, failed: 2 });
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "result ID serves the answer for results.ttlMs, then says unknown (exit 1) and why",
    async () => {
      const dir = tempDir();
      const config = join(dir, "dispatcher.json");
      writeFileSync(config, JSON.stringify({ results: { ttlMs: 4_000, max: 100 } }));
      const { port } = await startDispatcher(dir, ["--config", config]);
      startCalculator(dir, "calc-a", port, ["--compute-ms", "50,50"]);
      const at = ["--dispatcher", `127.0.0.1:${port}`, "--timeout-ms", "20000"];
      const done = await runToEnd("cluster", ["submit", "--input", "abc", "--wait", "--json", ...at], 30_000);
      expect(done.code).toBe(0);
      const { id } = JSON.parse(done.stdout) as { id: string };
      const kept = await runToEnd("cluster", ["result", id, ...at]);
      expect([kept.code, kept.stdout.trim()]).toEqual([
        0,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      ]);
      // Polled with a bound: each CLI run takes a fraction of a second, the answer goes after 4 s.
      let last = kept;
      for (let attempt = 0; attempt < 60 && last.code === 0; attempt += 1)
        last = await runToEnd("cluster", ["result", id, ...at]);
      expect([last.code, last.stdout.trim()]).toEqual([1, `${id} unknown`]);
      expect(last.stderr).toContain("results.ttlMs");
      const json = await runToEnd("cluster", ["result", id, "--json", ...at]);
      expect([json.code, JSON.parse(json.stdout)]).toEqual([1, { id, state: "unknown" }]);
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "validates every flag before sending, and names the address when nobody answers",
    async () => {
      const socket = createSocket("udp4");
      let receivedCount = 0;
      socket.on("message", () => {
        receivedCount += 1;
      });
      await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
      const at = ["--dispatcher", `127.0.0.1:${socket.address().port}`, "--timeout-ms", "400"];
      for (const args of [
        ["submit", "--input", "x", "--priority", "10"],
        ["submit", "--input", "x", "--rounds", "0"],
        ["submit", "--rounds", "1"],
        ["submit", "--input", "x".repeat(257)],
        ["result", "not-a-uuid"],
        ["cancel", "42"],
        ["status", "--timeout-ms", "-1"],
        ["calculators", "--dispatcher", "nowhere"],
        ["submit", "--input", "x", "--deadline-ms", "0"],
        ["submit", "--input", "x", "--deadline-ms", "1.5"],
        ["submit", "--input", "x", "--deadline-ms", "86400001"],
        ["submit", "--input", "x", "--bogus"],
        ["rebalance", "--timeout-ms", "0"],
        ["rebalance", "--dispatcher", "127.0.0.1:99999"],
        ["status", "--key-file", "/nonexistent/key"],
      ]) {
        const run = await runToEnd("cluster", [...args.slice(0, 1), ...at, ...args.slice(1)]);
        expect(run.code, args.join(" ")).toBe(2);
        // One paragraph: the message, and for commander's own errors a pointer to --help.
        expect(run.stderr.trim().split("\n").length, args.join(" ")).toBeLessThanOrEqual(2);
        expect(run.stderr, args.join(" ")).not.toMatch(/\n\s+at /);
      }
      expect(receivedCount).toBe(0);
      const silent = await runToEnd("cluster", ["status", ...at]);
      expect(silent.code).toBe(1);
      expect(silent.stderr).toContain(`No answer from the dispatcher at 127.0.0.1:${socket.address().port}`);
      const local = await runToEnd("cluster", ["submit", "--input", "abc", "--fallback-local", ...at]);
      expect(local.code).toBe(0);
      expect(local.stdout).toContain(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad (computed locally)",
      );
      socket.close();
    },
    E2E_TIMEOUT_MS,
  );
});
