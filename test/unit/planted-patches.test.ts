/**
 * Goal: every planted bug of test/sim/planted (the simulation's proof that it catches bugs, re-run
 * by `npm run sim:mutants` and `npm run sim:overlay-mutants`) still plants its bug in today's code.
 * A patch whose context drifted does not apply, and the mutant runners then report "patch does not
 * apply" instead of "caught": three dispatcher patches rotted this way unnoticed (found 2026-12-06).
 * Method: `git apply --check` each patch against the working tree (checks only, changes nothing);
 * a self-test proves a drifted patch is reported.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PLANTED = join(ROOT, "test", "sim", "planted");

/** Undefined when `patchPath` applies cleanly to the tree at ROOT; else git's complaint. */
function applyProblem(patchPath: string): string | undefined {
  const run = spawnSync("git", ["apply", "--check", patchPath], { cwd: ROOT, encoding: "utf8" });
  return run.status === 0 ? undefined : `${run.stderr}${run.error?.message ?? ""}`.trim();
}

describe("planted bug patches", () => {
  const patches = readdirSync(PLANTED).filter((name) => name.endsWith(".patch"));

  it("there are dispatcher (0-9, R) and overlay (O) patches", () => {
    expect(patches.filter((name) => /^[0-9R]/.test(name)).length).toBeGreaterThanOrEqual(14);
    expect(patches.filter((name) => name.startsWith("O")).length).toBeGreaterThanOrEqual(6);
  });

  it.each(patches)("%s still applies to the code it plants a bug in", (name) => {
    expect(applyProblem(join(PLANTED, name))).toBeUndefined();
  });

  it("self-test: a patch whose context drifted is reported", () => {
    const dir = mkdtempSync(join(tmpdir(), "udp-cluster-planted-"));
    try {
      const drifted = join(dir, "drifted.patch");
      writeFileSync(
        drifted,
        [
          "diff --git a/src/dispatcher/core.ts b/src/dispatcher/core.ts",
          "--- a/src/dispatcher/core.ts",
          "+++ b/src/dispatcher/core.ts",
          "@@ -1,3 +1,3 @@",
          " this line is not in the file",
          "-nor is this one",
          "+replacement",
          " and the context ends here",
          "",
        ].join("\n"),
      );
      expect(applyProblem(drifted)).toMatch(/patch (failed|does not apply)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
