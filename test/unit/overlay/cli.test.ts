/**
 * Goal: run-overlay-sim prints what SPEC.md section 7 promises, and bad usage or a
 * bad file exits 2 with one readable paragraph naming the file and the problem, never a stack trace.
 * Method: call each CLI's main() in-process with stdout/stderr captured and process.exitCode checked.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { main as simMain } from "../../../src/cli/overlay-sim.js";

let out = "";
let err = "";
const dir = mkdtempSync(join(tmpdir(), "overlay-cli-"));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

beforeEach(() => {
  out = "";
  err = "";
  process.exitCode = undefined;
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe("run-overlay-sim", () => {
  it("prints the SPEC JSON for the examples", () => {
    simMain([
      "--topology",
      "config/overlay/tree-7.json",
      "--loads",
      "config/overlay/loads-7.json",
      "--loss",
      "0.2",
      "--seed",
      "3",
      "--json",
    ]);
    expect(process.exitCode ?? 0).toBe(0);
    const result = JSON.parse(out);
    expect(Object.keys(result)).toEqual([
      "nodes",
      "echo",
      "finn",
      "moved",
      "retransmissions",
      "loadsBefore",
      "loadsAfter",
    ]);
    expect(result).toMatchObject({
      nodes: 7,
      echo: { waves: 2, messagesPerWave: [12, 12] },
      finn: { messages: 12 },
      moved: 13,
    });
  });

  it("prints help and exits 0", () => {
    simMain(["--help"]);
    expect(process.exitCode ?? 0).toBe(0);
    expect(out).toContain("--topology <file>");
  });

  const cycle = JSON.stringify({
    nodes: [
      { id: "a", slots: 1, parents: [] },
      { id: "b", slots: 1, parents: ["a", "c"] },
      { id: "c", slots: 1, parents: ["b"] },
    ],
  });
  it.each([
    ["a missing --topology", () => [], /required option '--topology <file>'/],
    ["a bad --loss", () => ["--topology", "x.json", "--loss", "2"], /--loss.*probability in \[0, 1\)/],
    [
      "a missing file",
      () => ["--topology", join(dir, "nope.json")],
      /Cannot read topology file .*nope\.json: no such file\./,
    ],
    ["bad JSON", () => ["--topology", file("bad.json", "{nodes")], /Topology file .*bad\.json is not valid JSON/],
    [
      "a cycle",
      () => ["--topology", file("cycle.json", cycle)],
      /Invalid topology in .*cycle\.json: the parents form a cycle: b -> c -> b\./,
    ],
    [
      "an unknown node in loads",
      () => ["--topology", "config/overlay/tree-7.json", "--loads", file("loads.json", '{"a": 1, "zz": 2}')],
      /Invalid loads in .*loads\.json: not nodes of the topology: "zz"\./,
    ],
    [
      "a negative load",
      () => ["--topology", "config/overlay/tree-7.json", "--loads", file("neg.json", '{"a": -1}')],
      /Invalid loads in .*neg\.json: key "a": Too small/,
    ],
  ])("exits 2 with one readable paragraph for %s", (_name, argv, message) => {
    simMain(argv());
    expect(process.exitCode).toBe(2);
    expect(out).toBe("");
    expect(err).toMatch(message);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(err).not.toMatch(/\n\s+at /);
  });
});
