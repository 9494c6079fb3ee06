/**
 * Goal: bad input never crashes a daemon or changes its state, and users get one readable paragraph
 * with exit code 2: a flood of malformed datagrams is dropped and counted by reason while real work
 * completes; bad config files and flags name the file or flag and the key, without a stack trace.
 * Method: real processes on 127.0.0.1 port 0; a dgram socket in the test sends the garbage.
 */
import { createSocket } from "node:dgram";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  requireBuild,
  runToEnd,
  start,
  startCalculator,
  startDispatcher,
  stopAll,
  tempDir,
  waitForMsg,
} from "./harness.js";

const E2E_TIMEOUT_MS = 40_000;

function malformedDatagrams(): Buffer[] {
  const valid = {
    v: 1,
    type: "task.submit",
    from: "x",
    taskId: "00000000-0000-4000-8000-000000000000",
    input: "a",
    rounds: 1,
  };
  const kinds: Buffer[] = [
    Buffer.from("not json at all"),
    Buffer.from("{"),
    Buffer.from(JSON.stringify(valid)).subarray(0, 30),
    Buffer.from("[1,2,3]"),
    Buffer.from("null"),
    Buffer.from(JSON.stringify({ ...valid, v: 2 })),
    Buffer.from(JSON.stringify({ ...valid, type: "task.explode" })),
    Buffer.from(JSON.stringify({ ...valid, extra: true })),
    Buffer.from(JSON.stringify({ ...valid, rounds: 0 })),
    Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
    Buffer.alloc(20_000, 0x61),
    Buffer.from(JSON.stringify({ v: 1, from: "x", type: "batch", packets: [] })),
    Buffer.from(JSON.stringify({ v: 1, from: "x", type: "batch", packets: [{ ...valid, rounds: 0 }] })),
  ];
  return Array.from({ length: 1_100 }, (_, i) => kinds[i % kinds.length] as Buffer);
}

async function flood(port: number, datagrams: readonly Buffer[]): Promise<void> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  for (const datagram of datagrams) {
    await new Promise<void>((resolve) => socket.send(datagram, port, "127.0.0.1", () => resolve()));
  }
  socket.close();
}

beforeAll(requireBuild);
afterEach(stopAll);

describe("malformed datagrams", () => {
  it(
    "are dropped and counted by reason while every real task is answered",
    async () => {
      const dir = tempDir();
      const { child: dispatcher, port } = await startDispatcher(dir);
      const calc = startCalculator(dir, "calc-a", port, ["--compute-ms", "5,20", "--capacity", "4"]);
      const calcPort = Number((await waitForMsg(calc, "calculator started", 10_000))["port"]);
      const stats = join(dir, "stats.json");
      const client = start(dir, "client", "run-client", [
        "--dispatcher",
        `127.0.0.1:${port}`,
        "--count",
        "20",
        "--interval-ms",
        "5,20",
        "--stats-json",
        stats,
      ]);
      await Promise.all([flood(port, malformedDatagrams()), flood(calcPort, malformedDatagrams().slice(0, 300))]);
      expect(await client.exited).toBe(0);
      expect(JSON.parse(readFileSync(stats, "utf8"))).toMatchObject({ sent: 20, succeeded: 20, unanswered: 0 });
      const stopped = waitForMsg(dispatcher, "dispatcher stopped", 10_000);
      process.kill(dispatcher.pid, "SIGTERM");
      const counters = (await stopped)["counters"] as Record<string, number>;
      for (const code of [
        "not_json",
        "not_object",
        "wrong_version",
        "unknown_type",
        "invalid",
        "too_large",
        "bad_batch",
      ]) {
        expect(counters[`datagram_rejected.${code}`], code).toBeGreaterThan(0);
      }
      expect(await dispatcher.exited).toBe(0);
    },
    E2E_TIMEOUT_MS,
  );
});

function expectOneParagraph(stderr: string): void {
  const text = stderr.trim();
  expect(text.length).toBeGreaterThan(0);
  expect(text).not.toMatch(/\n\s*at /);
  expect(text).not.toContain("\n\n");
}

describe("bad configuration and flags exit 2 with one readable paragraph", () => {
  const dir = tempDir();
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const cases: { name: string; bin: string; args: () => string[]; expect: RegExp[] }[] = [
    {
      name: "missing file",
      bin: "run-dispatcher",
      args: () => ["-c", join(dir, "nope.json")],
      expect: [/nope\.json/, /no such file/],
    },
    {
      name: "not JSON",
      bin: "run-dispatcher",
      args: () => ["-c", file("bad.json", "{ listen: ")],
      expect: [/bad\.json/, /not valid JSON/],
    },
    {
      name: "unknown key",
      bin: "run-dispatcher",
      args: () => ["-c", file("unknown.json", '{"listen":{"prot":1}}')],
      expect: [/unknown\.json/, /listen\.prot/],
    },
    {
      name: "wrong type",
      bin: "run-dispatcher",
      args: () => ["-c", file("type.json", '{"taskTimeoutMs":"fast"}')],
      expect: [/type\.json/, /taskTimeoutMs/],
    },
    {
      name: "quorum above factor",
      bin: "run-dispatcher",
      args: () => ["-c", file("rep.json", '{"replication":{"factor":2,"quorum":3}}')],
      expect: [/rep\.json/, /replication/, /quorum must not exceed factor/],
    },
    {
      name: "factor below 1",
      bin: "run-dispatcher",
      args: () => ["-c", file("rep0.json", '{"replication":{"factor":0}}')],
      expect: [/rep0\.json/, /replication\.factor/],
    },
    {
      name: "maxCopies below factor",
      bin: "run-dispatcher",
      args: () => ["-c", file("repmax.json", '{"replication":{"factor":3,"quorum":2,"maxCopies":2}}')],
      expect: [/repmax\.json/, /replication/, /maxCopies must be at least factor/],
    },
    {
      name: "unknown placement policy",
      bin: "run-dispatcher",
      args: () => ["-c", file("place.json", '{"placement":"fastest"}')],
      expect: [
        /place\.json/,
        /placement/,
        /"fastest"/,
        /least-loaded, round-robin, random, power-of-two, least-latency/,
      ],
    },
    {
      name: "calculator min > max",
      bin: "run-calculator",
      args: () => ["-s", file("calc.json", '{"computeMs":{"min":9,"max":1}}')],
      expect: [/calc\.json/, /computeMs/],
    },
    { name: "client bad --count", bin: "run-client", args: () => ["--count", "lots"], expect: [/--count/] },
    { name: "client negative --warmup-s", bin: "run-client", args: () => ["--warmup-s", "-1"], expect: [/--warmup-s/] },
    {
      name: "client bad --dispatcher",
      bin: "run-client",
      args: () => ["--dispatcher", "nowhere"],
      expect: [/--dispatcher/, /HOST:PORT/],
    },
    { name: "unknown flag", bin: "run-dispatcher", args: () => ["--frobnicate"], expect: [/unknown option/] },
  ];
  it.each(cases)(
    "$name",
    async ({ bin, args, expect: patterns }) => {
      const { code, stderr } = await runToEnd(bin, args());
      expect(code).toBe(2);
      expectOneParagraph(stderr);
      for (const pattern of patterns) expect(stderr).toMatch(pattern);
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "a port already in use",
    async () => {
      const socket = createSocket("udp4");
      await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
      const { code, stderr } = await runToEnd("run-dispatcher", ["--listen", `127.0.0.1:${socket.address().port}`]);
      socket.close();
      expect(code).toBe(2);
      expectOneParagraph(stderr);
      expect(stderr).toMatch(/EADDRINUSE/);
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "--help exits 0 and lists the flags",
    async () => {
      const { code, stdout } = await runToEnd("run-client", ["--help"]);
      expect(code).toBe(0);
      for (const flag of [
        "--count",
        "--duration-s",
        "--stats-json",
        "--results",
        "--concurrency",
        "--warmup-s",
        "--quiet",
      ])
        expect(stdout).toContain(flag);
    },
    E2E_TIMEOUT_MS,
  );
});
