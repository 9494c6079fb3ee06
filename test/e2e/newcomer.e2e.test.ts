/**
 * Goal: what a newcomer trips over is answered in one readable line: an unwritable --stats-json or
 * --results is refused at start (exit 2) instead of after the run; a bin/ script run before `npm ci`
 * built dist/ says to run `npm ci` (no stack trace).
 * Method: the real binaries; a copy of a bin/ script in a temp folder without dist/ beside it.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

import { beforeAll, describe, expect, it } from "vitest";

import { PACKAGE_ROOT } from "../../src/cluster/children.js";
import { requireBuild, runToEnd, tempDir } from "./harness.js";

describe("newcomer errors", () => {
  beforeAll(() => requireBuild());

  it("refuses an unwritable --stats-json or --results at start with exit 2", async () => {
    const missing = join(tempDir(), "no-such-dir", "out.json");
    for (const flag of ["--stats-json", "--results"]) {
      const run = await runToEnd("run-client", ["--count", "1", flag, missing, "--dispatcher", "127.0.0.1:9"], 10_000);
      expect(run.code, flag).toBe(2);
      expect(run.stderr.trim().split("\n"), flag).toEqual([expect.stringContaining(`Flag ${flag} names ${missing}`)]);
    }
  }, 30_000);

  it("says to run npm ci when dist/ is missing", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "bin"));
    copyFileSync(join(PACKAGE_ROOT, "bin", "run-client"), join(dir, "bin", "run-client"));
    const run = spawnSync(process.execPath, [join(dir, "bin", "run-client")], { encoding: "utf8", timeout: 10_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe("udp-cluster is not built yet: run `npm ci` in its folder first (it builds dist/).\n");
  }, 15_000);
});
