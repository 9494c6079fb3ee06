/**
 * Goal: load shedding at the edge (issue 12 item 4): while one source floods the dispatcher with
 * datagrams that look authenticated (right magic, a real key id, a wrong tag: the most expensive junk
 * for a receiver without shedding, each costs an HMAC), a client on another source keeps most of its
 * unflooded throughput, and the dispatcher counts the shed datagrams as `rate` drops.
 * Method: real processes on 127.0.0.1 with a key file; one client run without and one with a flood
 * (a child process sending as fast as it can from one socket), measured in the same test; tasks/s =
 * succeeded / durationS from --stats-json. The machine has 2 cores shared with the flooder itself,
 * which by itself takes CPU from the cluster, so the test asserts flooded >= 0.5x unflooded (the
 * issue's target is 0.8x, reported with the measured figures on stderr and in docs/SECURITY.md);
 * without shedding the dispatcher spends an HMAC on every flood datagram.
 */
import { spawn } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { requireBuild, start, startCalculator, startDispatcher, stopAll, tempDir, waitForMsg } from "./harness.js";

/** Flood rate and size: 20 datagrams of 8 KiB every ms, about 160 MB/s of junk from one source. */
const FLOOD_PER_MS = Number(process.env["FLOOD_PER_MS"] ?? 20);
const FLOOD_BYTES = Number(process.env["FLOOD_BYTES"] ?? 8_192);

const FLOODER = `
const dgram = require("node:dgram");
const crypto = require("node:crypto");
const [port, perMs, bytes] = process.argv.slice(1).map(Number);
const socket = dgram.createSocket("udp4");
const junk = crypto.randomBytes(bytes);
junk[0] = 0xa5; junk[1] = 1; junk[2] = 2; junk.write("k1", 3, "latin1");
let sent = 0; let stopped = false;
process.on("SIGTERM", () => { stopped = true; process.stdout.write(String(sent)); socket.close(); });
const startedMs = performance.now();
function pace() {
  if (stopped) return;
  const due = Math.floor((performance.now() - startedMs) * perMs);
  for (let i = 0; sent < due && i < 4 * perMs; i += 1) { socket.send(junk, port, "127.0.0.1"); sent += 1; }
  setTimeout(pace, 1);
}
socket.bind(0, "127.0.0.1", () => { process.stdout.write("ready\\n"); pace(); });
`;

function tasksPerS(dir: string, name: string): number {
  const stats = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
  expect(stats).toMatchObject({ failed: 0, wrong: 0 });
  return stats.succeeded / stats.durationS;
}

async function clientRun(dir: string, name: string, port: number, keyFile: string): Promise<number> {
  const client = start(dir, name, "run-client", [
    "--key-file",
    keyFile,
    "--dispatcher",
    `127.0.0.1:${port}`,
    "--duration-s",
    "3",
    "--concurrency",
    "8",
    "--quiet",
    "--stats-json",
    join(dir, `${name}.json`),
  ]);
  expect(await client.exited).toBe(0);
  return tasksPerS(dir, name);
}

beforeAll(requireBuild);
afterEach(stopAll);

describe("load shedding", () => {
  it("a client keeps most of its throughput while another source floods the dispatcher", async () => {
    const dir = tempDir();
    const keyFile = join(dir, "keys.json");
    writeFileSync(keyFile, JSON.stringify({ keys: { k1: Buffer.alloc(32, 3).toString("base64") }, active: "k1" }));
    chmodSync(keyFile, 0o600);
    const { child: dispatcher, port } = await startDispatcher(dir, ["--key-file", keyFile]);
    for (const id of ["calc-a", "calc-b"]) {
      startCalculator(dir, id, port, ["--key-file", keyFile, "--compute-ms", "2,2", "--capacity", "8"]);
      await waitForMsg(dispatcher, "calculator registered", 10_000, (l) => l["calculatorId"] === id);
    }
    await clientRun(dir, "warmup", port, keyFile); // JIT warm-up of every process, not measured
    const calm = await clientRun(dir, "calm", port, keyFile);
    const flooder = spawn(process.execPath, ["-e", FLOODER, String(port), String(FLOOD_PER_MS), String(FLOOD_BYTES)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let flooderOut = "";
    flooder.stdout.on("data", (chunk: Buffer) => {
      flooderOut += chunk.toString("utf8");
    });
    const flooderDone = new Promise<void>((resolve) => flooder.on("exit", () => resolve()));
    try {
      const deadline = Date.now() + 10_000;
      while (!flooderOut.includes("ready") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const flooded = await clientRun(dir, "flooded", port, keyFile);
      flooder.kill("SIGTERM");
      await flooderDone;
      const floodCount = Number(flooderOut.replace("ready", "").trim());
      const stopped = waitForMsg(dispatcher, "edge counters", 10_000);
      process.kill(dispatcher.pid, "SIGTERM");
      const dropped = (await stopped)["dropped"] as Record<string, number>;
      process.stderr.write(
        `flood e2e: calm ${calm.toFixed(0)} tasks/s, flooded ${flooded.toFixed(0)} tasks/s ` +
          `(ratio ${(flooded / calm).toFixed(2)}); flood sent ${floodCount} datagrams in ~3 s, ` +
          `dispatcher dropped rate=${dropped["rate"]} auth=${dropped["auth"]}\n`,
      );
      expect(dropped["rate"]).toBeGreaterThan(0);
      expect(flooded).toBeGreaterThanOrEqual(0.5 * calm);
    } finally {
      if (flooder.exitCode === null) flooder.kill("SIGKILL");
    }
  }, 60_000);
});
