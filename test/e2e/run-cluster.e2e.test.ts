/**
 * Goal: run-cluster (npm start) brings up a working local cluster, prints the statistics, and
 * leaves no process of its own running afterwards.
 * Method: run the real binary with a small --count; check its output, stats.json, and that every
 * PID it recorded in pids.json is gone.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { beforeAll, describe, expect, it } from "vitest";

import { parseTopology } from "../../src/overlay/tree.js";
import { requireBuild, runToEnd, tempDir } from "./harness.js";

beforeAll(requireBuild);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("run-cluster", () => {
  it("runs a dispatcher, calculators and a client, prints statistics and stops every child", async () => {
    const dir = tempDir();
    const args = [
      "--count",
      "12",
      "--calculators",
      "2",
      "--compute-ms",
      "5,30",
      "--failure-probability",
      "0",
      "--interval-ms",
      "5,20",
      "--run-dir",
      dir,
    ];
    const { code, stdout, stderr } = await runToEnd("run-cluster", args, 30_000);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("statistics");
    expect(stderr).toContain("2/2 calculators registered");
    expect(stderr).not.toContain("faults on purpose"); // --failure-probability 0: none emulated, none announced
    const stats = JSON.parse(readFileSync(join(dir, "stats.json"), "utf8"));
    expect(stats).toMatchObject({ sent: 12, received: 12, succeeded: 12, unanswered: 0 });
    const pids = JSON.parse(readFileSync(join(dir, "pids.json"), "utf8")) as { name: string; pid: number }[];
    expect(pids.map((p) => p.name)).toEqual(["dispatcher", "calc-1", "calc-2", "client"]);
    for (const { name, pid } of pids) expect(isAlive(pid), `${name} (${pid}) still running`).toBe(false);
  }, 40_000);
});

describe("run-cluster --generate", () => {
  it("writes a valid topology, the same for the same seed, to --out or stdout", async () => {
    const path = join(tempDir(), "dag.json");
    const generate = ["--generate", "dag", "--nodes", "40", "--seed", "5", "--slots-max", "3"];
    const written = await runToEnd("run-cluster", [...generate, "--out", path]);
    expect(written.code, written.stderr).toBe(0);
    const file = JSON.parse(readFileSync(path, "utf8"));
    expect(parseTopology(file).ok).toBe(true);
    expect(file.nodes).toHaveLength(40);
    expect(file.nodes.every((node: { slots: number }) => node.slots <= 3)).toBe(true);
    const printed = await runToEnd("run-cluster", generate);
    expect(JSON.parse(printed.stdout)).toEqual(file);
  });

  it("exits 2 with one line on bad usage", async () => {
    const { code, stderr } = await runToEnd("run-cluster", ["--generate", "star"]);
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(/^Flag --generate expects tree or dag, got "star"\.$/);
  });
});
