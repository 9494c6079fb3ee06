/**
 * Wires the security edge into a command: loads `auth.keyFile` (a bad file is a user error, exit 2),
 * binds the socket, wraps it in an {@link EdgeTransport}, reloads the keys on SIGHUP (a file that
 * fails to load keeps the old keys and logs why), and logs the edge's drop counters when the
 * transport closes.
 */
import { randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

import type { Logger } from "pino";

import { EdgeTransport } from "../security/edge-transport.js";
import { SENDER_ID_BYTES } from "../security/envelope.js";
import { loadKeyFile } from "../security/key-file.js";
import type { Keyring } from "../security/keyring.js";
import { type Endpoint, endpointKey } from "../transport/transport.js";
import { bindOrExplain } from "./common.js";

/** How often a refused source may trigger a fresh name lookup of the allowed peers (ms). */
const RESOLVE_SPACING_MS = 5_000;

/** What {@link openEdge} needs. */
export interface EdgeSetup {
  readonly host: string;
  readonly port: number;
  /** Used in messages ("dispatcher", "calculator", ...). */
  readonly what: string;
  readonly keyFile: string | null | undefined;
  /** Only these peers may send to us (names are resolved, and re-resolved when a source is refused). */
  readonly acceptFrom?: readonly Endpoint[];
  readonly log?: Logger;
}

/** Loads the key file if one is configured; throws ConfigError (exit 2) naming the file and problem. */
export function keyringFor(keyFile: string | null | undefined): Keyring | undefined {
  return keyFile === null || keyFile === undefined ? undefined : loadKeyFile(keyFile);
}

/** Binds `host:port` behind an edge; see the module comment. */
export async function openEdge(setup: EdgeSetup): Promise<EdgeTransport> {
  const keyring = keyringFor(setup.keyFile);
  const filter = setup.acceptFrom === undefined ? undefined : new PeerFilter(setup.acceptFrom);
  await filter?.resolve();
  const inner = await bindOrExplain(setup.host, setup.port, setup.what);
  const edge = new EdgeTransport(inner, {
    keyring,
    wallMs: Date.now,
    nowMs: () => performance.now(),
    senderId: randomBytes(SENDER_ID_BYTES),
    acceptFrom: filter === undefined ? undefined : (from) => filter.allows(from),
  });
  const log = setup.log?.child({ component: "edge" });
  if (setup.keyFile !== null && setup.keyFile !== undefined) {
    const path = setup.keyFile;
    log?.info({ keyFile: path, keys: [...(keyring?.keys.keys() ?? [])], active: keyring?.activeId }, "auth on");
    process.on("SIGHUP", () => reloadKeys(edge, path, log));
  }
  const close = edge.close.bind(edge);
  edge.close = async () => {
    log?.info({ dropped: edge.stats.dropped, detail: Object.fromEntries(edge.stats.detail) }, "edge counters");
    await close();
  };
  return edge;
}

/** SIGHUP: load the key file again; on any problem keep the keys in use and say why. */
export function reloadKeys(edge: EdgeTransport, path: string, log: Logger | undefined): boolean {
  try {
    const next = loadKeyFile(path);
    edge.keyring = next;
    log?.info({ keyFile: path, keys: [...next.keys.keys()], active: next.activeId }, "SIGHUP: keys reloaded");
    return true;
  } catch (error) {
    log?.warn(
      { keyFile: path, problem: (error as Error).message },
      "SIGHUP: key file not loaded; keeping the old keys",
    );
    return false;
  }
}

/** The peers a calculator or client takes datagrams from, by resolved address. */
class PeerFilter {
  readonly #peers: readonly Endpoint[];
  /** BOUNDED: the resolved addresses of the configured peers. */
  #allowed = new Set<string>();
  #resolvedMs = Number.NEGATIVE_INFINITY;
  #isResolving = false;

  constructor(peers: readonly Endpoint[]) {
    this.#peers = peers;
  }

  allows(from: Endpoint): boolean {
    if (this.#allowed.has(endpointKey(from))) return true;
    // A peer addressed by name may have moved (a re-created container); look again, not too often.
    const nowMs = performance.now();
    if (!this.#isResolving && nowMs - this.#resolvedMs >= RESOLVE_SPACING_MS && this.#hasNames()) {
      this.#isResolving = true;
      void this.resolve().finally(() => {
        this.#isResolving = false;
      });
    }
    return false;
  }

  async resolve(): Promise<void> {
    this.#resolvedMs = performance.now();
    const next = new Set<string>();
    for (const peer of this.#peers) {
      if (isIP(peer.host) !== 0) {
        next.add(endpointKey(peer));
        continue;
      }
      try {
        for (const { address } of await lookup(peer.host, { all: true }))
          next.add(endpointKey({ host: address, port: peer.port }));
      } catch {
        // Unresolvable now: refused until a later lookup succeeds (the name may appear later).
      }
    }
    this.#allowed = next;
  }

  #hasNames(): boolean {
    return this.#peers.some((peer) => isIP(peer.host) === 0);
  }
}
