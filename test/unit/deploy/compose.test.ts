/**
 * Goal: `docker compose up --scale calculator=5` can work on a machine we never run Docker on:
 * docker-compose.yml has the dispatcher, calculator and client services; calculators carry nothing
 * that pins one instance (container_name, hostname, published host port); every command runs a binary
 * that exists in bin/ with a config file that exists and validates against src/config/schema.ts;
 * peers point at the dispatcher service and its port; UDP ports say /udp; every service restarts; the
 * Dockerfile builds on Node 20 with npm ci and runs as a non-root user.
 * Method: parse the YAML with the `yaml` package (merge keys on, as Compose does), read the files it
 * names, and validate configs with the same loader the daemons use. No Docker engine needed.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";
import { parse } from "yaml";

import { loadConfigFile } from "../../../src/config/load.js";
import { CalculatorFileConfig, ClientFileConfig, DispatcherFileConfig } from "../../../src/config/schema.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

interface Service {
  readonly command?: unknown;
  readonly ports?: unknown;
  readonly expose?: unknown;
  readonly container_name?: unknown;
  readonly hostname?: unknown;
  readonly restart?: unknown;
  readonly build?: unknown;
}

const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, "utf8"), { merge: true }) as {
  volumes?: Record<string, unknown>;
  services: Record<string, Service>;
};
const services = compose.services;
const dockerfile = readFileSync(`${ROOT}Dockerfile`, "utf8");
const packageBins = (JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { bin: Record<string, string> }).bin;

/** The command of `name` as an argv array (Compose also allows a string; we use arrays). */
function commandOf(name: string): string[] {
  const command = services[name]?.command;
  expect(Array.isArray(command), `${name}.command must be an argv array`).toBe(true);
  return (command as unknown[]).map(String);
}

/** The value after the first of `flags` in `argv`. */
function flagValue(argv: readonly string[], flags: readonly string[]): string | undefined {
  const index = argv.findIndex((arg) => flags.includes(arg));
  return index < 0 ? undefined : argv[index + 1];
}

/** Path in the repository of a file the container reads relative to its WORKDIR /app. */
function repoPath(containerPath: string): string {
  return `${ROOT}${containerPath.replace(/^\/app\//, "")}`;
}

const CONFIG_FLAGS = {
  "run-dispatcher": { flags: ["-c", "--config"], schema: DispatcherFileConfig },
  "run-calculator": { flags: ["-s", "--settings"], schema: CalculatorFileConfig },
  "run-client": { flags: ["-s", "--settings"], schema: ClientFileConfig },
} as const;

function loadServiceConfig(name: string): Record<string, unknown> {
  const argv = commandOf(name);
  const bin = (argv[0] ?? "").replace(/^(\/app\/)?bin\//, "") as keyof typeof CONFIG_FLAGS;
  const entry = CONFIG_FLAGS[bin];
  expect(entry, `${name} runs ${argv[0]}, which takes no config file`).toBeDefined();
  const path = flagValue(argv, entry.flags);
  expect(path, `${name} must name its config file with ${entry.flags.join(" or ")}`).toBeDefined();
  return loadConfigFile(entry.schema, repoPath(path as string)) as Record<string, unknown>;
}

describe("docker-compose.yml", () => {
  it("defines the dispatcher, calculator and client services", () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(["dispatcher", "calculator", "client"]));
  });

  it("lets calculators scale: no container_name, no fixed hostname, no published host port", () => {
    const calculator = services["calculator"] as Service;
    expect(calculator.container_name).toBeUndefined();
    expect(calculator.hostname).toBeUndefined();
    const ports = (calculator.ports ?? []) as unknown[];
    const published = ports.filter((port) => (typeof port === "string" ? port.includes(":") : true));
    expect(published, "a published host port can be bound by one replica only").toEqual([]);
  });

  it.each(Object.keys(services))("%s runs a binary that exists in bin/ and in package.json", (name) => {
    const argv = commandOf(name);
    const match = /^(?:\/app\/)?bin\/([a-z-]+)$/.exec(argv[0] ?? "");
    expect(match, `${name}.command[0] must be bin/<command>, got ${argv[0]}`).not.toBeNull();
    const bin = (match as RegExpExecArray)[1] as string;
    expect(existsSync(`${ROOT}bin/${bin}`), `bin/${bin} is missing`).toBe(true);
    expect(packageBins[bin]).toBe(`bin/${bin}`);
  });

  it.each(["dispatcher", "calculator", "client"])("%s names a config file that validates", (name) => {
    expect(() => loadServiceConfig(name)).not.toThrow();
  });

  it("points calculators and the client at the dispatcher service and the port it listens on", () => {
    const dispatcher = loadServiceConfig("dispatcher") as { listen: { port: number } };
    expect(dispatcher.listen.port).toBeGreaterThan(0);
    for (const name of ["calculator", "client"]) {
      const config = loadServiceConfig(name) as { dispatcher: { host: string; port: number } };
      expect(config.dispatcher.host, name).toBe("dispatcher");
      expect(config.dispatcher.port, name).toBe(dispatcher.listen.port);
    }
    const ports = (services["dispatcher"]?.ports ?? []) as string[];
    expect(ports.some((port) => port.endsWith(`:${dispatcher.listen.port}/udp`))).toBe(true);
  });

  it("asks only for what this release runs (replication.factor 1)", () => {
    const dispatcher = loadServiceConfig("dispatcher") as { replication: { factor: number } };
    expect(dispatcher.replication.factor).toBe(1);
  });

  it("declares every port and exposed port as UDP", () => {
    for (const [name, service] of Object.entries(services)) {
      for (const port of [...((service.ports ?? []) as unknown[]), ...((service.expose ?? []) as unknown[])]) {
        expect(String(port), `${name}: ${String(port)}`).toMatch(/\/udp$/);
      }
    }
  });

  it("keeps the dispatcher's journal on a named volume and health-checks dispatcher and calculators by a UDP round trip", () => {
    const config = loadServiceConfig("dispatcher") as { journal: { path: string | null } };
    const journalDir = (config.journal.path ?? "").replace(/\/[^/]+$/, "");
    expect(journalDir).not.toBe("");
    const dispatcher = services["dispatcher"] as Service & { volumes?: string[]; healthcheck?: { test?: string[] } };
    const mount = (dispatcher.volumes ?? []).find((v) => v.endsWith(`:${journalDir}`));
    expect(mount, "a volume mounted at the journal's directory").toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(mount?.split(":")[0]);
    expect(dockerfile).toContain(`chown node:node ${journalDir}`);
    for (const name of ["dispatcher", "calculator"]) {
      const check = (services[name] as Service & { healthcheck?: { test?: string[] } }).healthcheck?.test ?? [];
      expect(check.slice(0, 3), name).toEqual(["CMD", "node", "deploy/udp-probe.mjs"]);
      expect(existsSync(`${ROOT}deploy/udp-probe.mjs`)).toBe(true);
    }
    expect(dockerfile).toMatch(/^COPY deploy \.\/deploy$/m);
  });

  it("gives every service a restart policy and builds the repository's Dockerfile", () => {
    for (const [name, service] of Object.entries(services)) {
      expect(["always", "unless-stopped", "on-failure"], name).toContain(service.restart);
      expect(service.build, name).toBe(".");
    }
  });
});

describe("Dockerfile", () => {
  const fromLines = dockerfile.split("\n").filter((line) => /^FROM\s/i.test(line));

  it("builds every stage on Node 20, in more than one stage (the build tools stay out of the image)", () => {
    expect(fromLines.length).toBeGreaterThan(1);
    for (const line of fromLines) expect(line).toMatch(/^FROM\s+node:20[\w.-]*(\s+AS\s+\w+)?\s*$/i);
  });

  it("installs with npm ci and runs as a non-root user", () => {
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((match) => match[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:.*)?$/);
  });

  it("copies the binaries and configs the compose commands use", () => {
    expect(dockerfile).toMatch(/^COPY bin \.\/bin$/m);
    expect(dockerfile).toMatch(/^COPY config \.\/config$/m);
  });
});
