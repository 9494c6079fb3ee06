/**
 * Goal: authentication works between the real binaries (SPEC section 10): a cluster with a key file
 * serves a client; keys rotate by SIGHUP (add, activate, remove) across a running cluster while a
 * client runs, with 0 failed tasks; a broken key file on SIGHUP keeps the old keys and says why; a
 * client without the key gets nothing and its datagrams are counted as `auth` drops; and a bad key
 * file (missing, a directory, group- or world-readable, malformed, a short secret) makes every command exit 2 naming the file and the problem.
 * Method: real processes on 127.0.0.1 port 0, key files written by the test with mode 600, waits on
 * JSON log lines with a bound, every process stopped by PID.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  type Child,
  requireBuild,
  runToEnd,
  start,
  startCalculator,
  startDispatcher,
  stopAll,
  tempDir,
  waitForMsg,
} from "./harness.js";

const E2E_TIMEOUT_MS = 60_000;
const secret = (fill: number): string => Buffer.alloc(32, fill).toString("base64");

/** Writes the key file atomically (a reader never sees half a file), owner-only. */
function writeKeys(path: string, keys: Record<string, string>, active: string): void {
  const temp = `${path}.tmp`;
  writeFileSync(temp, JSON.stringify({ keys, active }), { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

async function sighupAll(children: readonly Child[], msg: string): Promise<void> {
  const waits = children.map((child) => waitForMsg(child, msg, 10_000));
  for (const child of children) process.kill(child.pid, "SIGHUP");
  await Promise.all(waits);
}

beforeAll(requireBuild);
afterEach(stopAll);

describe("authenticated cluster", () => {
  it(
    "rotates keys by SIGHUP under a running client with 0 failed tasks, and survives a broken file",
    async () => {
      const dir = tempDir();
      const keyFile = join(dir, "keys.json");
      writeKeys(keyFile, { old: secret(1) }, "old");
      const auth = ["--key-file", keyFile];
      const { child: dispatcher, port } = await startDispatcher(dir, [...auth, "--heartbeat-timeout-ms", "2000"]);
      const calculators = ["calc-a", "calc-b"].map((id) =>
        startCalculator(dir, id, port, [...auth, "--compute-ms", "5,30", "--capacity", "4"]),
      );
      await Promise.all(
        ["calc-a", "calc-b"].map((id) =>
          waitForMsg(dispatcher, "calculator registered", 10_000, (l) => l["calculatorId"] === id),
        ),
      );
      const statsPath = join(dir, "stats.json");
      const client = start(dir, "client", "run-client", [
        ...auth,
        "--dispatcher",
        `127.0.0.1:${port}`,
        "--duration-s",
        "8",
        "--concurrency",
        "4",
        "--stats-json",
        statsPath,
      ]);
      await waitForMsg(client, "client started", 10_000);
      const everyone = [dispatcher, ...calculators, client];
      writeKeys(keyFile, { old: secret(1), new: secret(2) }, "old");
      await sighupAll(everyone, "SIGHUP: keys reloaded");
      writeKeys(keyFile, { old: secret(1), new: secret(2) }, "new");
      await sighupAll(everyone, "SIGHUP: keys reloaded");
      writeFileSync(keyFile, "{ broken", { mode: 0o600 });
      await sighupAll([dispatcher], "SIGHUP: key file not loaded; keeping the old keys");
      writeKeys(keyFile, { new: secret(2) }, "new");
      await sighupAll(everyone, "SIGHUP: keys reloaded");
      expect(await client.exited).toBe(0);
      const stats = JSON.parse(readFileSync(statsPath, "utf8"));
      expect(stats.succeeded).toBeGreaterThan(20);
      expect(stats).toMatchObject({ failed: 0, unanswered: 0, wrong: 0 });
      expect(stats.received).toBe(stats.sent);

      // A client without the key is not served, and the dispatcher counts its datagrams as auth drops.
      const outsider = await runToEnd("run-client", [
        "--dispatcher",
        `127.0.0.1:${port}`,
        "--count",
        "1",
        "--timeout-ms",
        "1000",
        "--quiet",
      ]);
      expect(outsider.code).toBe(0);
      expect(outsider.stdout).toMatch(/unanswered\s+1/);
      const stopped = waitForMsg(dispatcher, "edge counters", 10_000);
      process.kill(dispatcher.pid, "SIGTERM");
      const dropped = (await stopped)["dropped"] as Record<string, number>;
      expect(dropped["auth"]).toBeGreaterThan(0);
    },
    E2E_TIMEOUT_MS,
  );
});

describe("bad key files exit 2 naming the file and the problem", () => {
  const cases: Array<[string, (path: string) => void, RegExp]> = [
    ["missing", () => undefined, /it does not exist/],
    [
      "world-readable",
      (p) => writeFileSync(p, JSON.stringify({ keys: { a: secret(1) }, active: "a" }), { mode: 0o644 }),
      /mode 644/,
    ],
    [
      "group-readable",
      (p) => writeFileSync(p, JSON.stringify({ keys: { a: secret(1) }, active: "a" }), { mode: 0o640 }),
      /mode 640/,
    ],
    // Unreadable: a directory in its place (as root, chmod 000 would not stop the read).
    ["unreadable", (p) => mkdirSync(p), /not a regular file/],
    ["malformed", (p) => writeFileSync(p, "keys", { mode: 0o600 }), /not valid JSON/],
    [
      "short secret",
      (p) => writeFileSync(p, JSON.stringify({ keys: { a: "AAAA" }, active: "a" }), { mode: 0o600 }),
      /3 bytes; it must be at least 32/,
    ],
  ];
  it.each(cases)(
    "%s",
    async (_name, make, problem) => {
      const path = join(tempDir(), "keys.json");
      make(path);
      for (const [bin, args] of [
        ["run-dispatcher", ["--listen", "127.0.0.1:0"]],
        ["run-calculator", ["--listen", "127.0.0.1:0"]],
        ["run-client", ["--count", "1"]],
        ["cluster", ["rebalance"]],
      ] as const) {
        const result = await runToEnd(bin, [...args, "--key-file", path]);
        expect(result.code, `${bin}: ${result.stderr}`).toBe(2);
        expect(result.stderr).toContain(`Key file ${path}`);
        expect(result.stderr).toMatch(problem);
      }
    },
    E2E_TIMEOUT_MS,
  );
});
