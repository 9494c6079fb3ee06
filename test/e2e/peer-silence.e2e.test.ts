/**
 * Goal: a daemon whose dispatcher does not answer says so (SPEC section 8): a client and a calculator
 * aimed at an address where no dispatcher runs each log a warning naming that address within a
 * bounded time, and say at info that it answers once a dispatcher starts there (the idle calculator
 * hears nothing from a healthy dispatcher unless it probes, so this also proves the probe works).
 * Method: the real binaries; a free UDP port found by binding port 0 and closing it; log lines
 * awaited with generous bounds (a loaded machine), processes stopped by PID.
 */
import { createSocket } from "node:dgram";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { requireBuild, start, startCalculator, startDispatcher, stopAll, tempDir } from "./harness.js";

/** A UDP port on 127.0.0.1 that nothing listens on right now. */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket({ type: "udp4", reuseAddr: false });
  await new Promise<void>((resolve) => socket.bind({ address: "127.0.0.1", port: 0, exclusive: true }, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

const WARNING = /^dispatcher at 127\.0\.0\.1:(\d+) does not answer \(silent for \d+ s\)/;

describe("a silent dispatcher is named", () => {
  beforeAll(() => requireBuild());
  afterEach(stopAll);

  it("client and calculator warn naming the address, then say it answers once it runs", async () => {
    const dir = tempDir();
    const port = await freeUdpPort();
    const client = start(dir, "client", "run-client", ["--dispatcher", `127.0.0.1:${port}`, "--duration-s", "300"]);
    const calculator = startCalculator(dir, "calc-a", port, ["--compute-ms", "10,10"]);
    const isWarning = (line: { msg?: string; level?: unknown }): boolean =>
      line.level === 40 && WARNING.test(line.msg ?? "");
    const [clientWarning, calculatorWarning] = await Promise.all([
      client.waitForLog(isWarning, 30_000),
      calculator.waitForLog(isWarning, 30_000),
    ]);
    for (const line of [clientWarning, calculatorWarning]) {
      expect(line["peer"]).toBe(`127.0.0.1:${port}`);
      expect(line["msg"]).toContain(`127.0.0.1:${port}`);
      expect(line["warning"]).toBe(1);
    }
    const isBack = (line: { msg?: string }): boolean => line.msg === `dispatcher at 127.0.0.1:${port} answers again`;
    const clientBack = client.waitForLog(isBack, 30_000);
    const calculatorBack = calculator.waitForLog(isBack, 30_000);
    await startDispatcher(dir, [], port);
    const lines = await Promise.all([clientBack, calculatorBack]);
    for (const line of lines) expect(line["peer"]).toBe(`127.0.0.1:${port}`);
  }, 90_000);
});
