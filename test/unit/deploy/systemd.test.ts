/**
 * Goal: the systemd units in deploy/systemd are ones systemd accepts, hardened as docs/OPERATIONS.md
 * says (a dedicated user, read-only system, private /tmp, restart on failure but not on a bad config),
 * and they start the binaries with config files the daemons' own loader accepts.
 * Method: `systemd-analyze verify` on copies whose /opt/udp-cluster and /usr/bin/node point at this
 * checkout and this node (verify checks that ExecStart exists); any complaint fails, and a unit with a
 * bad directive must draw one, so the check is known to bite. Skipped, saying so, where
 * systemd-analyze is not installed (.ci/run installs it when apt-get can).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { loadConfigFile } from "../../../src/config/load.js";
import { CalculatorFileConfig, DispatcherFileConfig } from "../../../src/config/schema.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const UNITS = ["udp-cluster-dispatcher.service", "udp-cluster-calculator@.service"];
const hasAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
if (!hasAnalyze) {
  process.stderr.write("systemd unit check skipped: systemd-analyze is not installed (apt-get install systemd)\n");
}

/** Complaints of `systemd-analyze verify` about the given unit files (empty when clean). */
function verify(paths: readonly string[]): string {
  const run = spawnSync("systemd-analyze", ["verify", "--man=no", ...paths], { encoding: "utf8", cwd: tmpdir() });
  return `${run.stdout}${run.stderr}`.trim() + (run.status === 0 ? "" : `\nexit ${run.status}`);
}

function localCopies(): string[] {
  const dir = mkdtempSync(join(tmpdir(), "units-"));
  return UNITS.map((name) => {
    const text = readFileSync(join(ROOT, "deploy/systemd", name), "utf8")
      .replaceAll("/opt/udp-cluster", ROOT.replace(/\/$/, ""))
      .replaceAll("/usr/bin/node", process.execPath);
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  });
}

describe("deploy/systemd units", () => {
  it.skipIf(!hasAnalyze)(
    "pass systemd-analyze verify, and a unit with a bad directive does not",
    () => {
      expect(verify(localCopies())).toBe("");
      const bad = join(mkdtempSync(join(tmpdir(), "units-")), "bad.service");
      writeFileSync(bad, `[Service]\nExecStart=${process.execPath}\nRestart=sometimes\n`);
      expect(verify([bad])).toMatch(/restart specifier/);
    },
    20_000,
  );

  it("are hardened and run the binaries with configs the daemons accept", () => {
    for (const name of UNITS) {
      const text = readFileSync(join(ROOT, "deploy/systemd", name), "utf8");
      for (const line of [
        "User=udp-cluster",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "Restart=on-failure",
        "RestartPreventExitStatus=2",
      ]) {
        expect(text, `${name}: ${line}`).toContain(`\n${line}\n`);
      }
    }
    const dispatcher = loadConfigFile(DispatcherFileConfig, join(ROOT, "deploy/config/dispatcher.json"));
    expect(dispatcher.journal.path).toMatch(/^\/var\/lib\/udp-cluster\//);
    expect(readFileSync(join(ROOT, "deploy/systemd", UNITS[0] as string), "utf8")).toContain(
      "StateDirectory=udp-cluster",
    );
    expect(loadConfigFile(CalculatorFileConfig, join(ROOT, "deploy/config/calculator.json")).listen.host).toBe(
      "0.0.0.0",
    );
    expect(readFileSync(join(ROOT, "deploy/systemd/udp-cluster.sysusers.conf"), "utf8")).toMatch(/^u udp-cluster /m);
  });
});
