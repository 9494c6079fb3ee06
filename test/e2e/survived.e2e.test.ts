/**
 * Goal: the client's statistics table shows what the cluster survived (SPEC section 4): the
 * dispatcher's outages and re-placed copies, asked with admin.status, agree with what the dispatcher
 * logged, and the client's own view (answers that needed more than one copy) counts the task that was
 * taken from the frozen calculator; the stats JSON keeps exactly SPEC 4's fields; `cluster status`
 * says the same (table and --json).
 * Method: the real binaries; two calculators with one slot each and 3 s tasks; the one that started
 * a task first is frozen with SIGSTOP (an outage the dispatcher must detect by silence), its task is
 * re-placed on the other; the client's stdout table is read after it ends.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  type Child,
  type LogLine,
  requireBuild,
  runToEnd,
  startCalculator,
  startDispatcher,
  stopAll,
  tempDir,
  waitForMsg,
} from "./harness.js";

/** The number in the table row `name   N (…)`, or undefined without that row. */
function tableCount(table: string, name: string): number | undefined {
  const match = new RegExp(`^ {2}${name} +(\\d+)`, "m").exec(table);
  return match === null ? undefined : Number(match[1]);
}

function countLines(path: string, msg: string): number {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((text) => text.startsWith("{") && (JSON.parse(text) as LogLine).msg === msg).length;
}

describe("the client's table shows what the cluster survived", () => {
  beforeAll(() => requireBuild());
  afterEach(stopAll);

  it("an outage and its re-placed copy, as the dispatcher counted them", async () => {
    const dir = tempDir();
    const { child: dispatcher, port } = await startDispatcher(dir, ["--heartbeat-timeout-ms", "3000"]);
    const settings = join(dir, "calculator.json");
    writeFileSync(
      settings,
      JSON.stringify({ capacity: 1, computeMs: { min: 3_000, max: 3_000 }, heartbeatIntervalMs: 200 }),
    );
    const registered = new Promise<void>((resolve) => {
      let count = 0;
      dispatcher.onLog((line) => {
        if (line.msg === "calculator registered" && ++count === 2) resolve();
      });
    });
    const calculators = new Map<string, Child>();
    for (const id of ["calc-a", "calc-b"]) {
      calculators.set(id, startCalculator(dir, id, port, ["-s", settings, "--log-level", "debug"]));
    }
    await registered;
    const firstStarted = Promise.race(
      [...calculators].map(([id, child]) => waitForMsg(child, "task started", 30_000).then(() => id)),
    );
    const statsPath = join(dir, "stats.json");
    const client = runToEnd(
      "run-client",
      ["--dispatcher", `127.0.0.1:${port}`, "--count", "2", "--interval-ms", "0,0", "--stats-json", statsPath],
      60_000,
    );
    const frozenId = await firstStarted;
    const frozen = calculators.get(frozenId) as Child;
    const declaredDead = waitForMsg(dispatcher, "calculator silent: declared dead", 30_000);
    frozen.process.kill("SIGSTOP"); // stays frozen: no further outage or re-placement happens
    expect((await declaredDead)["calculatorId"]).toBe(frozenId);
    const { code, stdout, stderr } = await client;
    expect(code, stderr).toBe(0);
    const dispatcherLog = join(dir, `${dispatcher.name}.log`);
    expect(tableCount(stdout, "calculator outages")).toBe(
      countLines(dispatcherLog, "calculator silent: declared dead"),
    );
    expect(tableCount(stdout, "calculator outages")).toBe(1);
    const replaced = countLines(dispatcherLog, "task re-placed");
    expect(replaced).toBeGreaterThanOrEqual(1);
    expect(tableCount(stdout, "re-placed copies")).toBe(replaced);
    expect(tableCount(stdout, "re-placed tasks")).toBe(1);
    expect(tableCount(stdout, "resends")).toEqual(expect.any(Number));
    expect(stdout).toContain(`declared dead by the dispatcher 127.0.0.1:${port}`);
    const stats = JSON.parse(readFileSync(statsPath, "utf8")) as Record<string, unknown>;
    expect(Object.keys(stats)).toEqual([
      "sent",
      "received",
      "succeeded",
      "failed",
      "unanswered",
      "wrong",
      "duplicates",
      "durationS",
      "latencyMs",
    ]);
    expect(stats).toMatchObject({ sent: 2, succeeded: 2 });
    const at = ["--dispatcher", `127.0.0.1:${port}`];
    const summary = await runToEnd("cluster", ["status", ...at]);
    expect(summary.stdout).toContain(
      `survived     1 calculator outages (declared dead), ${replaced} copies re-placed, since the dispatcher started`,
    );
    const json = JSON.parse((await runToEnd("cluster", ["status", "--json", ...at])).stdout);
    expect(json.survived).toEqual({ outageCount: 1, replacedCount: replaced });
    frozen.process.kill("SIGCONT"); // so stopAll's SIGTERM is handled
  }, 90_000);
});
