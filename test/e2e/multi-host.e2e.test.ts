/**
 * Goal: the closest this machine gets to several hosts. The dispatcher (with the client) and two
 * calculators each run in their own network namespace, joined to the dispatcher's by veth pairs on
 * 10.200.x.0/24 addresses that exist only inside namespaces this test creates. Mid-run one
 * calculator's link is cut (its namespace can reach nothing) and later restored: every task is
 * answered exactly once, correctly (SPEC 5.1, 5.2), across real interfaces and real routing.
 * Method: `ip netns` and `ip link` as root; processes started with `ip netns exec` and stopped by
 * PID; namespaces deleted in teardown (which deletes their veths). Skipped, saying why, where
 * namespaces cannot be made (not root, no `ip`, no CAP_SYS_ADMIN).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type Child, spawnChild, stopChildren } from "../../src/cluster/children.js";
import { requireBuild, tempDir } from "./harness.js";

const E2E_TIMEOUT_MS = 90_000;
const TASK_COUNT = 700;
const SUFFIX = `${process.pid % 100_000}`;
const NS = { dispatcher: `ucd-${SUFFIX}`, c1: `ucc1-${SUFFIX}`, c2: `ucc2-${SUFFIX}` } as const;

function ip(args: readonly string[]): { ok: boolean; out: string } {
  const run = spawnSync("ip", args, { encoding: "utf8" });
  return { ok: run.status === 0, out: `${run.stdout ?? ""}${run.stderr ?? ""}` };
}

/** Why namespaces cannot be made here, or undefined when they can. */
function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return "not root";
  const probe = `ucp-${SUFFIX}`;
  const made = ip(["netns", "add", probe]);
  if (!made.ok) return `ip netns add failed: ${made.out.trim() || "no ip command"}`;
  ip(["netns", "del", probe]);
  return undefined;
}

const skipReason = whyNot();
if (skipReason !== undefined) process.stderr.write(`multi-host netns test skipped: ${skipReason}\n`);

function must(args: readonly string[]): void {
  const run = ip(args);
  if (!run.ok) throw new Error(`ip ${args.join(" ")}: ${run.out}`);
}

/** Dispatcher namespace 10.200.N.1 <-> calculator namespace 10.200.N.2, one veth pair per calculator. */
function link(calcNs: string, n: number): void {
  const [a, b] = [`ucv${n}a-${SUFFIX}`, `ucv${n}b-${SUFFIX}`];
  must(["link", "add", a, "netns", NS.dispatcher, "type", "veth", "peer", "name", b, "netns", calcNs]);
  must(["-n", NS.dispatcher, "addr", "add", `10.200.${n}.1/24`, "dev", a]);
  must(["-n", calcNs, "addr", "add", `10.200.${n}.2/24`, "dev", b]);
  must(["-n", NS.dispatcher, "link", "set", a, "up"]);
  must(["-n", calcNs, "link", "set", b, "up"]);
}

function setUp(): void {
  for (const ns of Object.values(NS)) {
    must(["netns", "add", ns]);
    must(["-n", ns, "link", "set", "lo", "up"]);
  }
  link(NS.c1, 1);
  link(NS.c2, 2);
}

function tearDown(): void {
  for (const ns of Object.values(NS)) ip(["netns", "del", ns]);
}

const children: Child[] = [];

/** Starts bin/<bin> inside `ns` (ip netns exec replaces itself with node, so the PID is node's). */
function startIn(dir: string, ns: string, name: string, bin: string, args: readonly string[]): Child {
  const child = spawnChild({ name, bin, args, logPath: join(dir, `${name}.log`), prefix: ["ip", "netns", "exec", ns] });
  children.push(child);
  return child;
}

describe.skipIf(skipReason !== undefined)("multi-host (network namespaces)", () => {
  beforeAll(() => {
    requireBuild();
    tearDown();
    setUp();
  });
  afterAll(async () => {
    await stopChildren(children.splice(0), 3_000);
    tearDown();
  });

  it(
    "a calculator's host cut off and restored mid-run: every task answered exactly once",
    async () => {
      const dir = tempDir();
      process.stderr.write(`multi-host logs: ${dir}\n`);
      const dispatcher = startIn(dir, NS.dispatcher, "dispatcher", "run-dispatcher", [
        "--listen",
        "0.0.0.0:5555",
        "--heartbeat-timeout-ms",
        "2500",
        "--task-timeout-ms",
        "1500",
        "--journal",
        join(dir, "journal.db"),
        "--json-logs",
      ]);
      await dispatcher.waitForLog((l) => l.msg === "dispatcher started", 15_000);
      const calcArgs = (n: number) => [
        "--id",
        `calc-${n}`,
        "--dispatcher",
        `10.200.${n}.1:5555`,
        "--capacity",
        "4",
        "--compute-ms",
        "20,80",
        "--failure-probability",
        "0",
        "--json-logs",
      ];
      const registered = (id: string) =>
        dispatcher.waitForLog((l) => l.msg === "calculator registered" && l["calculatorId"] === id, 15_000);
      const bothUp = Promise.all([registered("calc-1"), registered("calc-2")]);
      startIn(dir, NS.c1, "calc-1", "run-calculator", calcArgs(1));
      startIn(dir, NS.c2, "calc-2", "run-calculator", calcArgs(2));
      await bothUp;
      const client = startIn(dir, NS.dispatcher, "client", "run-client", [
        "--dispatcher",
        "127.0.0.1:5555",
        "--count",
        String(TASK_COUNT),
        "--concurrency",
        "6",
        "--stats-json",
        join(dir, "stats.json"),
        "--results",
        join(dir, "results.jsonl"),
        "--quiet",
        "--json-logs",
      ]);
      // Cut calc-1's host off once work is flowing, keep it off past the heartbeat timeout, restore.
      await new Promise((resolve) => setTimeout(resolve, 600));
      const isCalc1 = (l: Record<string, unknown>) => l["calculatorId"] === "calc-1";
      const dead = dispatcher.waitForLog((l) => l.msg === "calculator silent: declared dead" && isCalc1(l), 20_000);
      must(["-n", NS.c1, "link", "set", `ucv1b-${SUFFIX}`, "down"]);
      await dead;
      const back = dispatcher.waitForLog((l) => l.msg === "calculator back" && isCalc1(l), 20_000);
      must(["-n", NS.c1, "link", "set", `ucv1b-${SUFFIX}`, "up"]);
      const restoredAtMs = Date.now();
      await back;
      expect(await client.exited).toBe(0);
      // The client was still sending when calc-1 came back (the run spans the cut and the restore).
      expect(statSync(join(dir, "stats.json")).mtimeMs).toBeGreaterThan(restoredAtMs);

      const stats = JSON.parse(readFileSync(join(dir, "stats.json"), "utf8")) as Record<string, number>;
      expect(stats).toMatchObject({
        sent: TASK_COUNT,
        received: TASK_COUNT,
        succeeded: TASK_COUNT,
        wrong: 0,
      });
      // The dispatcher gave each task exactly one final answer (a client resend may carry it twice:
      // the client counts and drops such duplicates).
      const stopped = dispatcher.waitForLog((l) => l.msg === "dispatcher stopped", 10_000);
      await stopChildren([dispatcher], 3_000);
      const counters = (await stopped)["counters"] as Record<string, number>;
      expect(counters["task_completed"]).toBe(TASK_COUNT);
      expect(counters["task_failed"] ?? 0).toBe(0);
      const lines = readFileSync(join(dir, "results.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(new Set(lines.map((l: { id: string }) => l.id)).size).toBe(TASK_COUNT);
      expect(lines.every((l: { outcome: string }) => l.outcome === "ok")).toBe(true);
    },
    E2E_TIMEOUT_MS,
  );
});
