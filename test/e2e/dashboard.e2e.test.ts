/**
 * Goal: the dashboard shows a person what the cluster does: the calculators appear, a calculator
 * killed with -9 turns dead, the task counts grow, and the data-age line stays fresh.
 * Method: real dispatcher, three calculators and a closed-loop client on 127.0.0.1 port 0; Debian's
 * headless Chromium (playwright-core) opens GET /; every wait polls with a bound. A screenshot goes to
 * test-results/dashboard/ (docs/dashboard.png is one such screenshot, checked by eye).
 */
import { join } from "node:path";

import type { BrowserContext } from "playwright-core";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { launchChromium, outputDir, startAdminDispatcher } from "./admin-harness.js";
import { requireBuild, start, startCalculator, stopAll, tempDir } from "./harness.js";

const E2E_TIMEOUT_MS = 60_000;

describe("dashboard in headless Chromium", () => {
  let browser: BrowserContext | undefined;
  beforeAll(() => requireBuild());
  afterEach(async () => {
    await browser?.close();
    browser = undefined;
    await stopAll();
  });

  it(
    "shows the calculators, turns a killed one dead, and counts grow",
    async () => {
      const dir = tempDir();
      const { port, adminUrl } = await startAdminDispatcher(dir, ["--heartbeat-timeout-ms", "1000"]);
      const calculators = ["calc-a", "calc-b", "calc-c"].map((id) =>
        startCalculator(dir, id, port, ["--compute-ms", "20,60", "--capacity", "2"]),
      );
      start(dir, "client", "run-client", [
        "--dispatcher",
        `127.0.0.1:${port}`,
        "--concurrency",
        "4",
        "--duration-s",
        "120",
        "--quiet",
      ]);
      browser = await launchChromium();
      const page = await browser.newPage();
      const requested: string[] = [];
      page.on("request", (request) => requested.push(request.url()));
      await page.goto(`${adminUrl}/`);
      const rows = page.locator("#calc-rows tr");
      await expect.poll(() => rows.count(), { timeout: 15_000, interval: 200 }).toBe(3);
      await expect
        .poll(() => page.locator("#calc-rows td.state-alive").count(), { timeout: 10_000, interval: 200 })
        .toBe(3);
      const succeeded = async (): Promise<number> => Number(await page.locator("#succeeded").textContent());
      await expect.poll(succeeded, { timeout: 15_000, interval: 200 }).toBeGreaterThan(0);
      const before = await succeeded();
      await expect.poll(succeeded, { timeout: 15_000, interval: 200 }).toBeGreaterThan(before);
      expect(await page.locator("#age").textContent()).toMatch(/data \d+\.\d s old/);

      (calculators[1] as { process: { kill(signal: string): void } }).process.kill("SIGKILL");
      const deadRow = page.locator('#calc-rows tr[data-id="calc-b"] td.state');
      await expect.poll(() => deadRow.textContent(), { timeout: 15_000, interval: 200 }).toBe("dead");
      const afterKill = await succeeded();
      await expect.poll(succeeded, { timeout: 15_000, interval: 200 }).toBeGreaterThan(afterKill);
      await page.screenshot({ path: join(outputDir("dashboard"), "dashboard.png"), fullPage: true });
      // Self-contained: the page fetched nothing but its own dispatcher.
      expect(requested.every((url) => url.startsWith(adminUrl))).toBe(true);
    },
    E2E_TIMEOUT_MS,
  );
});
