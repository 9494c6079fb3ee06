/**
 * Goal: `docker compose --profile overlay up` starts the small tree it promises, on a machine we never
 * run Docker on (issue 13 item 7): the overlay profile has exactly one calculator service per node of
 * the topology it mounts, each runs bin/run-calculator with a settings file that validates and whose
 * overlay section loads (its topology, its id a node of it, every peer named), every peer address is
 * the service of that node at the port that service listens on, the mounted host paths exist and hold
 * the files the commands read, the services stay out of the default profile, and the nodes reach the
 * dispatcher service.
 * Method: parse the YAML with the `yaml` package (merge keys on, as Compose does), map each mount to
 * the repository, and load every settings file with the daemons' own loader. No Docker engine needed.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";
import { parse } from "yaml";

import { overlayAgentConfig } from "../../../src/cli/calculator.js";
import { loadConfigFile } from "../../../src/config/load.js";
import { CalculatorFileConfig, DispatcherFileConfig } from "../../../src/config/schema.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

interface Service {
  readonly command?: string[];
  readonly profiles?: string[];
  readonly volumes?: string[];
  readonly expose?: string[];
  readonly depends_on?: string[];
  readonly restart?: string;
}

const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, "utf8"), { merge: true }) as {
  services: Record<string, Service>;
};
const overlayServices = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes("overlay"));

/** The repository path of a container path, through the service's bind mounts (else the image's copy). */
function hostPath(service: Service, containerPath: string): string {
  const absolute = containerPath.startsWith("/") ? containerPath : `/app/${containerPath}`;
  for (const volume of service.volumes ?? []) {
    const [source, target] = volume.split(":") as [string, string];
    if (absolute === target || absolute.startsWith(`${target}/`))
      return `${ROOT}${source.replace(/^\.\//, "")}${absolute.slice(target.length)}`;
  }
  return `${ROOT}${absolute.replace(/^\/app\//, "")}`;
}

function settingsOf(name: string, service: Service): { path: string; file: CalculatorFileConfig } {
  const argv = service.command ?? [];
  expect(argv[0], name).toBe("bin/run-calculator");
  const index = argv.indexOf("-s");
  expect(index, `${name} names its settings with -s`).toBeGreaterThan(0);
  const path = hostPath(service, argv[index + 1] as string);
  return { path, file: loadConfigFile(CalculatorFileConfig, path) };
}

describe("docker-compose.yml overlay profile", () => {
  it("has one service per topology node, in the overlay profile only", () => {
    expect(overlayServices.length).toBeGreaterThanOrEqual(3);
    const ids = overlayServices.map(([name, service]) => {
      const { path, file } = settingsOf(name, service);
      const agent = overlayAgentConfig(file, path, file.id, 1);
      expect(agent, `${name} has an overlay section`).toBeDefined();
      return { name, id: file.id as string, topologyIds: agent?.topology.ids ?? [] };
    });
    const topologyIds = ids[0]?.topologyIds ?? [];
    for (const entry of ids) expect(entry.topologyIds, entry.name).toEqual(topologyIds);
    expect(ids.map((e) => e.id).sort()).toEqual([...topologyIds].sort());
    for (const entry of ids) expect(entry.name).toBe(`overlay-${entry.id}`);
  });

  it("mounts paths that exist and holds the topology the settings name", () => {
    for (const [name, service] of overlayServices) {
      for (const volume of service.volumes ?? []) {
        const [source, , mode] = volume.split(":");
        expect(existsSync(`${ROOT}${(source as string).replace(/^\.\//, "")}`), `${name}: ${volume}`).toBe(true);
        expect(mode, `${name}: mounts read-only`).toBe("ro");
      }
      const { path, file } = settingsOf(name, service);
      const topology = new URL(file.overlay?.topology ?? "", `file://${path}`).pathname;
      expect(existsSync(topology), `${name}: ${topology}`).toBe(true);
    }
  });

  it("points every peer at the service of that node and the port it listens on", () => {
    const listenPort = new Map<string, number>();
    for (const [name, service] of overlayServices) {
      const { file } = settingsOf(name, service);
      listenPort.set(name, file.listen.port);
      expect(file.listen.host, `${name} listens on every interface of its container`).toBe("0.0.0.0");
      expect(service.expose, name).toContain(`${file.listen.port}/udp`);
    }
    for (const [name, service] of overlayServices) {
      const { file } = settingsOf(name, service);
      for (const [id, address] of Object.entries(file.overlay?.peers ?? {})) {
        const [host, port] = address.split(":");
        expect(host, `${name}: peer ${id}`).toBe(`overlay-${id}`);
        expect(Number(port), `${name}: peer ${id}`).toBe(listenPort.get(`overlay-${id}`));
      }
    }
  });

  it("registers every node with the dispatcher service and restarts it when it fails", () => {
    const dispatcherArgv = compose.services["dispatcher"]?.command ?? [];
    const dispatcher = loadConfigFile(DispatcherFileConfig, `${ROOT}${dispatcherArgv[2]}`);
    for (const [name, service] of overlayServices) {
      const { file } = settingsOf(name, service);
      expect(file.dispatcher, name).toEqual({ host: "dispatcher", port: dispatcher.listen.port });
      expect(service.depends_on, name).toContain("dispatcher");
      expect(service.restart, name).toBe("unless-stopped");
    }
  });
});
