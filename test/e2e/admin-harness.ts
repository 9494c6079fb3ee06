/**
 * Helpers for the admin-plane e2e tests: a dispatcher with its admin HTTP on a free port, HTTP GETs
 * with a bound, Prometheus text parsing, and headless Debian Chromium driven by playwright-core.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type BrowserContext, chromium } from "playwright-core";

import { PACKAGE_ROOT } from "../../src/cluster/children.js";
import { type Child, start } from "./harness.js";

/** Debian's chromium package (.ci/run installs it when missing). */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Starts a dispatcher with admin HTTP on 127.0.0.1:0; resolves its UDP port and admin base URL. */
export async function startAdminDispatcher(
  dir: string,
  args: readonly string[] = [],
): Promise<{ child: Child; port: number; adminUrl: string }> {
  const child = start(dir, "dispatcher", "run-dispatcher", [
    "--listen",
    "127.0.0.1:0",
    "--admin",
    "127.0.0.1:0",
    ...args,
  ]);
  const line = await child.waitForLog((l) => l.msg === "dispatcher started", 30_000);
  return { child, port: Number(line["port"]), adminUrl: String(line["admin"]).replace(/\/$/, "") };
}

/** GET with a bound; resolves status, headers and body. */
export async function get(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** The value of one Prometheus sample (`name{labels}` exactly as printed), or undefined. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Polls `check` every 100 ms until it returns true or `timeoutMs` passes; returns the last verdict. */
export async function pollUntil(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const endMs = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > endMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Launches headless Chromium with a fresh profile (a new --user-data-dir; playwright takes it as
 * launchPersistentContext's first argument) and no background traffic.
 */
export async function launchChromium(): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), "udp-cluster-chromium-"));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    viewport: { width: 1280, height: 900 },
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** The folder where a test leaves its artifacts (screenshots): test-results/<name>/ in the package. */
export function outputDir(name: string): string {
  const dir = join(PACKAGE_ROOT, "test-results", name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
