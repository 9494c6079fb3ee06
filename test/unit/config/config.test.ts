/**
 * Goal: configuration is exactly SPEC 3: every example file in config/ is valid; `{}` gives the
 * documented defaults; `0` is a valid computeMs bound; unknown keys, wrong types, min > max and
 * quorum > factor are ConfigErrors whose one-line message names the file and the key; a missing file
 * or bad JSON names the path; flag parsers name the flag (exit code 2 at the CLI, no stack trace).
 * Method: the zod schemas and loaders on plain values and on temporary files; exact messages where
 * this project writes them, the key and the file where zod writes the detail.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, describe, expect, it } from "vitest";
import type * as z from "zod";
import { listenHost } from "../../../src/cli/calculator.js";

import { parseNumberFlag, parseRangeFlag } from "../../../src/cli/common.js";
import { ConfigError, loadConfigFile, parseConfig, parseHostPort } from "../../../src/config/load.js";
import { CalculatorFileConfig, ClientFileConfig, DispatcherFileConfig } from "../../../src/config/schema.js";

const CONFIG_DIR = join(import.meta.dirname, "../../../config");
const tempDir = mkdtempSync(join(tmpdir(), "udp-cluster-config-"));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

/** Writes `text` to a fresh temporary file and returns its path. */
function tempFile(name: string, text: string): string {
  const path = join(tempDir, name);
  writeFileSync(path, text);
  return path;
}

/** The ConfigError thrown by `run`, so a test can assert its exact message. */
function configError(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    expect((error as Error).name).toBe("ConfigError");
    expect(error).toBeInstanceOf(ConfigError);
    return error as Error;
  }
  throw new Error("expected a ConfigError, nothing was thrown");
}

function schemaFor(fileName: string): z.ZodType {
  if (fileName.startsWith("dispatcher")) return DispatcherFileConfig;
  if (fileName.startsWith("calculator")) return CalculatorFileConfig;
  if (fileName.startsWith("client")) return ClientFileConfig;
  throw new Error(`config/${fileName}: no schema known for this example; add it to this test`);
}

describe("example files in config/", () => {
  const files = readdirSync(CONFIG_DIR).filter((name) => name.endsWith(".json"));

  it("has the three SPEC 3 examples", () => {
    expect(files).toEqual(expect.arrayContaining(["calculator.json", "client.json", "dispatcher.json"]));
  });

  it.each(files)("config/%s is valid and means what it says", (name) => {
    const path = join(CONFIG_DIR, name);
    const parsed = loadConfigFile(schemaFor(name), path);
    expect(parsed).toMatchObject(JSON.parse(readFileSync(path, "utf8")));
  });
});

describe("defaults", () => {
  it("dispatcher {} gives the SPEC 3 values", () => {
    expect(DispatcherFileConfig.parse({})).toMatchObject({
      listen: { host: "127.0.0.1", port: 5555 },
      admin: { host: "127.0.0.1", port: 9464 },
      heartbeatTimeoutMs: 3_000,
      taskTimeoutMs: 10_000,
      queueTimeoutMs: 60_000,
      replication: { factor: 1, quorum: 1, maxCopies: 6, adaptive: false },
      hedging: { enabled: false, quantile: 0.95, minDelayMs: 20, budget: 0.1 },
      placement: "least-loaded",
    });
  });

  it("replication.maxCopies defaults to max(6, factor)", () => {
    expect(DispatcherFileConfig.parse({ replication: { factor: 8, quorum: 5 } }).replication.maxCopies).toBe(8);
    expect(DispatcherFileConfig.parse({ replication: { factor: 3, quorum: 2 } }).replication.maxCopies).toBe(6);
  });

  it("calculator {} gives the SPEC 3 values", () => {
    expect(CalculatorFileConfig.parse({})).toMatchObject({
      listen: { host: "auto", port: 0 },
      dispatcher: { host: "127.0.0.1", port: 5555 },
      capacity: 4,
      computeMs: { min: 3_000, max: 6_000 },
      heartbeatIntervalMs: 1_000,
      failure: { probability: 0.1, checkIntervalMs: 10_000, durationMs: { min: 2_000, max: 5_000 } },
      corruption: { probability: 0 },
    });
  });

  it("client {} gives the SPEC 3 values", () => {
    expect(ClientFileConfig.parse({})).toMatchObject({
      dispatcher: { host: "127.0.0.1", port: 5555 },
      intervalMs: { min: 500, max: 1_500 },
      requestTimeoutMs: 90_000,
      rounds: 1,
    });
  });

  it("no file means the defaults", () => {
    expect(loadConfigFile(ClientFileConfig, undefined)).toEqual(ClientFileConfig.parse({}));
  });

  it("half an address or range keeps the other half's default", () => {
    expect(CalculatorFileConfig.parse({ dispatcher: { port: 6000 }, computeMs: { min: 0 } })).toMatchObject({
      dispatcher: { host: "127.0.0.1", port: 6000 },
      computeMs: { min: 0, max: 6_000 },
    });
  });

  it("computeMs {min: 0, max: 0} is valid", () => {
    expect(CalculatorFileConfig.parse({ computeMs: { min: 0, max: 0 } }).computeMs).toEqual({ min: 0, max: 0 });
  });
});

describe("invalid files are ConfigErrors naming the file and the key", () => {
  it("an unknown nested key", () => {
    const path = tempFile("unknown-nested.json", JSON.stringify({ listen: { prot: 1 } }));
    expect(configError(() => loadConfigFile(DispatcherFileConfig, path)).message).toBe(
      `Invalid configuration in ${path}: unknown key "listen.prot".`,
    );
  });

  it("an unknown top-level key", () => {
    const path = tempFile("unknown-top.json", JSON.stringify({ heartbeatTimeout: 5 }));
    expect(configError(() => loadConfigFile(DispatcherFileConfig, path)).message).toBe(
      `Invalid configuration in ${path}: unknown key "heartbeatTimeout".`,
    );
  });

  it("a wrong type", () => {
    const path = tempFile("wrong-type.json", JSON.stringify({ heartbeatTimeoutMs: "3000" }));
    const { message } = configError(() => loadConfigFile(DispatcherFileConfig, path));
    expect(message).toMatch(new RegExp(`^Invalid configuration in ${path}: key "heartbeatTimeoutMs": .*expected`));
    expect(message).not.toContain("\n");
  });

  it("min > max in a range", () => {
    const path = tempFile("min-max.json", JSON.stringify({ computeMs: { min: 5, max: 1 } }));
    expect(configError(() => loadConfigFile(CalculatorFileConfig, path)).message).toBe(
      `Invalid configuration in ${path}: key "computeMs": min must not exceed max.`,
    );
  });

  it("quorum > factor", () => {
    const path = tempFile("quorum.json", JSON.stringify({ replication: { factor: 1, quorum: 2 } }));
    expect(configError(() => loadConfigFile(DispatcherFileConfig, path)).message).toBe(
      `Invalid configuration in ${path}: key "replication": quorum must not exceed factor.`,
    );
  });

  it("maxCopies < factor", () => {
    const path = tempFile("max-copies.json", JSON.stringify({ replication: { factor: 3, quorum: 2, maxCopies: 2 } }));
    expect(configError(() => loadConfigFile(DispatcherFileConfig, path)).message).toBe(
      `Invalid configuration in ${path}: key "replication": maxCopies must be at least factor (every task starts factor copies).`,
    );
  });

  it("factor < 1", () => {
    const path = tempFile("factor.json", JSON.stringify({ replication: { factor: 0 } }));
    expect(configError(() => loadConfigFile(DispatcherFileConfig, path)).message).toMatch(/key "replication\.factor"/);
  });

  it("out of range values name each key", () => {
    const { message } = configError(() =>
      parseConfig(CalculatorFileConfig, { capacity: 0, corruption: { probability: 2 } }, "calc.json"),
    );
    expect(message).toMatch(/^Invalid configuration in calc\.json: /);
    expect(message).toContain('key "capacity"');
    expect(message).toContain('key "corruption.probability"');
  });

  it("a missing file names the path", () => {
    const path = join(tempDir, "does-not-exist.json");
    expect(configError(() => loadConfigFile(ClientFileConfig, path)).message).toBe(
      `Cannot read config file ${path}: no such file.`,
    );
  });

  it("bad JSON names the path", () => {
    const path = tempFile("bad.json", "{ listen: ");
    const { message } = configError(() => loadConfigFile(DispatcherFileConfig, path));
    expect(message.startsWith(`Config file ${path} is not valid JSON: `)).toBe(true);
  });
});

describe("flag parsers name the flag", () => {
  it("parseHostPort", () => {
    expect(parseHostPort("127.0.0.1:5555", "--dispatcher")).toEqual({ host: "127.0.0.1", port: 5555 });
    expect(parseHostPort("[::1]:0", "--dispatcher")).toEqual({ host: "::1", port: 0 });
    for (const bad of ["localhost", "host:", ":5555", "host:65536", "host:-1", "::1:5555"]) {
      expect(configError(() => parseHostPort(bad, "--dispatcher")).message).toBe(
        `Flag --dispatcher expects HOST:PORT (for example 127.0.0.1:5555), got "${bad}".`,
      );
    }
  });

  it("parseRangeFlag", () => {
    expect(parseRangeFlag("100,1000", "--interval-ms")).toEqual({ min: 100, max: 1_000 });
    expect(parseRangeFlag(" 0 , 0 ", "--interval-ms")).toEqual({ min: 0, max: 0 });
    expect(parseRangeFlag("50", "--interval-ms")).toEqual({ min: 50, max: 50 });
    // A blank part is not a silent 0 (`--compute-ms ,500` used to mean 0..500).
    for (const bad of ["5,1", "a,b", "1,2,3", "-1,5", "1.5,2", "", " ", ",100", "0,", " , "]) {
      expect(configError(() => parseRangeFlag(bad, "--interval-ms")).message).toBe(
        `Flag --interval-ms expects MIN,MAX in whole milliseconds with MIN <= MAX, got "${bad}".`,
      );
    }
  });

  it("parseNumberFlag", () => {
    expect(parseNumberFlag("10", "--count", 1, 100)).toBe(10);
    expect(parseNumberFlag("0.5", "--loss", 0, 1, false)).toBe(0.5);
    for (const bad of ["0", "101", "abc", "1.5", "Infinity", ""]) {
      expect(configError(() => parseNumberFlag(bad, "--count", 1, 100)).message).toBe(
        `Flag --count expects a whole number from 1 to 100, got "${bad}".`,
      );
    }
    for (const bad of ["2", "", "  "]) {
      // A blank value is not a silent 0.
      expect(configError(() => parseNumberFlag(bad, "--loss", 0, 1, false)).message).toBe(
        `Flag --loss expects a number from 0 to 1, got "${bad}".`,
      );
    }
  });
});

describe("calculator listen auto (SPEC section 3)", () => {
  it("binds loopback for a loopback dispatcher and the wildcard otherwise; an explicit host wins", () => {
    expect(listenHost("auto", "127.0.0.1")).toBe("127.0.0.1");
    expect(listenHost("auto", "localhost")).toBe("127.0.0.1");
    expect(listenHost("auto", "10.0.0.5")).toBe("0.0.0.0");
    expect(listenHost("auto", "dispatcher")).toBe("0.0.0.0");
    expect(listenHost("10.0.0.7", "127.0.0.1")).toBe("10.0.0.7");
    expect(listenHost("auto", "::1")).toBe("::1"); // an IPv4 socket never reaches [::1]:P
    expect(listenHost("auto", "fd00::5")).toBe("::");
  });
});
