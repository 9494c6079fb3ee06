/**
 * Goal: the admin HTTP server tells the truth and cannot hurt the UDP path. After a run with faults
 * (a calculator killed with -9, tasks that outlive the queue timeout) /metrics agrees with what the
 * client counted; /status has SPEC 8's shape; unknown paths get 404 and bad methods 405; slow,
 * idle and aborted HTTP clients neither stop the server nor the cluster's throughput.
 * Method: real binaries on 127.0.0.1 port 0; the client's --stats-json is compared with a scrape;
 * throughput is compared within one test, with and without 50 idle HTTP connections held open
 * (a generous margin: contention on a shared machine moves both runs).
 */
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { get, pollUntil, sample, startAdminDispatcher } from "./admin-harness.js";
import { requireBuild, start, startCalculator, stopAll, tempDir } from "./harness.js";

const E2E_TIMEOUT_MS = 90_000;

interface Stats {
  sent: number;
  received: number;
  succeeded: number;
  failed: number;
  unanswered: number;
  durationS: number;
}

async function runClient(dir: string, name: string, port: number, args: readonly string[]): Promise<Stats> {
  const statsPath = join(dir, `${name}-stats.json`);
  const client = start(dir, name, "run-client", [
    "--dispatcher",
    `127.0.0.1:${port}`,
    "--stats-json",
    statsPath,
    "--quiet",
    ...args,
  ]);
  expect(await client.exited).toBe(0);
  return JSON.parse(readFileSync(statsPath, "utf8")) as Stats;
}

function openIdleConnections(url: string, count: number): Promise<Socket[]> {
  const { hostname, port } = new URL(url);
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ host: hostname, port: Number(port) }, () => {
            socket.write("GET /status HTTP/1.1\r\nHost: x\r\n"); // headers never finished
            resolve(socket);
          });
          socket.on("error", reject);
        }),
    ),
  );
}

describe("admin HTTP", () => {
  beforeAll(() => requireBuild());
  afterEach(() => stopAll());

  it(
    "metrics agree with the client after a run with faults",
    async () => {
      const dir = tempDir();
      const { port, adminUrl } = await startAdminDispatcher(dir, [
        "--heartbeat-timeout-ms",
        "2500",
        "--queue-timeout-ms",
        "1200",
      ]);
      const doomed = startCalculator(dir, "calc-doomed", port, ["--compute-ms", "300,300", "--capacity", "2"]);
      for (const id of ["calc-a", "calc-b"])
        startCalculator(dir, id, port, ["--compute-ms", "10,1800", "--capacity", "2"]);
      const statsPromise = runClient(dir, "client", port, ["--count", "80", "--concurrency", "6"]);
      await pollUntil(
        async () =>
          (sample((await get(`${adminUrl}/metrics`)).body, 'udp_cluster_calculators{state="alive"}') ?? 0) >= 3,
        10_000,
      );
      await pollUntil(
        async () =>
          (sample((await get(`${adminUrl}/metrics`)).body, 'udp_cluster_tasks_completed_total{outcome="ok"}') ?? 0) >=
          5,
        20_000,
      );
      doomed.process.kill("SIGKILL");
      const stats = await statsPromise;
      const deadCount = async (): Promise<number | undefined> =>
        sample((await get(`${adminUrl}/metrics`)).body, 'udp_cluster_calculators{state="dead"}');
      await pollUntil(async () => (await deadCount()) === 1, 10_000);
      const text = (await get(`${adminUrl}/metrics`)).body;
      expect(stats.unanswered).toBe(0);
      expect(stats.failed).toBeGreaterThan(0); // some computations outlive the 1.2 s queue timeout
      expect(sample(text, "udp_cluster_tasks_submitted_total")).toBe(stats.sent);
      expect(sample(text, 'udp_cluster_tasks_completed_total{outcome="ok"}')).toBe(stats.succeeded);
      expect(sample(text, 'udp_cluster_tasks_completed_total{outcome="failed"}')).toBe(stats.failed);
      expect(sample(text, 'udp_cluster_task_failures_total{reason="timeout"}')).toBe(stats.failed);
      expect(sample(text, "udp_cluster_task_duration_seconds_count")).toBe(stats.succeeded);
      expect(sample(text, 'udp_cluster_calculators{state="dead"}')).toBe(1);
      expect(sample(text, 'udp_cluster_calculator_running_tasks{calculator="calc-a"}')).toBeDefined();
      expect(sample(text, "udp_cluster_datagrams_received_total")).toBeGreaterThan(stats.sent);
      expect(sample(text, "udp_cluster_process_resident_memory_bytes")).toBeGreaterThan(0);
      expect(text).not.toMatch(/127\.0\.0\.1/); // no addresses in labels

      const status = JSON.parse((await get(`${adminUrl}/status`)).body);
      expect(Object.keys(status).sort()).toEqual(["calculators", "nodeId", "overlay", "tasks", "uptimeS", "version"]);
      expect(status.tasks).toEqual({ queued: 0, running: 0, succeeded: stats.succeeded, failed: stats.failed });
      const doomedRow = status.calculators.find((c: { id: string }) => c.id === "calc-doomed");
      expect(doomedRow.state).toBe("dead");
      for (const row of status.calculators) {
        for (const key of ["id", "address", "state", "capacity", "running", "failureRate", "latencyMs", "lastSeenMs"]) {
          expect(row).toHaveProperty(key);
        }
      }
    },
    E2E_TIMEOUT_MS,
  );

  it(
    "answers 404 and 405, survives slow and aborted clients, and 50 idle connections keep the throughput",
    async () => {
      const dir = tempDir();
      const { port, adminUrl } = await startAdminDispatcher(dir);
      for (const id of ["calc-a", "calc-b"]) startCalculator(dir, id, port, ["--compute-ms", "0,0", "--capacity", "8"]);
      expect((await get(`${adminUrl}/nope`)).status).toBe(404);
      expect((await get(`${adminUrl}/metrics/x`)).status).toBe(404);
      const post = await get(`${adminUrl}/status`, { method: "POST", body: "x" });
      expect(post.status).toBe(405);
      expect(post.headers.get("allow")).toBe("GET, HEAD");
      expect((await get(`${adminUrl}/metrics`, { method: "DELETE" })).status).toBe(405);
      expect((await get(`${adminUrl}/`)).body).not.toMatch(/(src|href)="https?:/);

      // Aborted: ask and hang up before reading; slow: one header byte at a time.
      const aborted = await openIdleConnections(adminUrl, 5);
      for (const socket of aborted) socket.destroy();
      const [slow] = await openIdleConnections(adminUrl, 1);
      slow?.write("X");
      expect((await get(`${adminUrl}/status`)).status).toBe(200);

      const load = ["--count", "400", "--concurrency", "16"];
      const baseline = await runClient(dir, "client-baseline", port, load);
      const idle = await openIdleConnections(adminUrl, 50);
      const withIdle = await runClient(dir, "client-idle", port, load);
      expect((await get(`${adminUrl}/status`)).status).toBe(200);
      for (const socket of [...idle, slow]) socket?.destroy();
      expect(baseline.succeeded).toBe(400);
      expect(withIdle.succeeded).toBe(400);
      expect(withIdle.durationS).toBeLessThan(baseline.durationS * 4 + 2);
    },
    E2E_TIMEOUT_MS,
  );
});
