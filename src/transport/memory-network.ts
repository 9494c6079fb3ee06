/**
 * A seeded in-memory datagram network for deterministic tests: loss, duplication, reordering
 * (random delay) and a capacity limit, all drawn from one seeded Rng so a seed replays a run
 * exactly. Time advances only through deliverDue(), never by itself.
 */
import { assert } from "../runtime/assert.js";
import type { Rng } from "../runtime/rng.js";
import { type Datagram, type Endpoint, endpointKey, type Transport } from "./transport.js";

/** Fault model of a {@link MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /** Seeded; a seed replays a run exactly. */
  readonly rng: Rng;
  /** Chance in [0, 1] that a datagram is lost. */
  readonly lossProbability: number;
  /** Chance in [0, 1] that a datagram is delivered twice. */
  readonly duplicateProbability: number;
  /** Each delivery is delayed uniformly by 0..delayMsMax, so delivery order varies. */
  readonly delayMsMax: number;
  /** Datagrams in flight at most; beyond this: drop, like a full socket buffer. */
  readonly inFlightMax: number;
  /** Chance in [0, 1] that a datagram is held back much longer (a delay spike: heavy reordering). Default 0. */
  readonly spikeProbability?: number;
  /** A spiked datagram is delayed uniformly by delayMsMax..spikeDelayMsMax. Default delayMsMax. */
  readonly spikeDelayMsMax?: number;
}

interface InFlight {
  readonly dueMs: number;
  readonly order: number;
  readonly to: string;
  readonly datagram: Datagram;
}

/** Counters for assertions in tests. */
export interface MemoryNetworkStats {
  sentCount: number;
  lostCount: number;
  duplicatedCount: number;
  overflowCount: number;
  deliveredCount: number;
  unroutableCount: number;
}

/** The in-memory network; {@link MemoryNetwork.bind} makes a {@link Transport} on it. */
export class MemoryNetwork {
  readonly #options: MemoryNetworkOptions;
  /** BOUNDED: one entry per bound transport. */
  readonly #handlers = new Map<string, (datagram: Datagram) => void>();
  /** BOUNDED: options.inFlightMax; sends beyond it are dropped and counted. */
  #inFlight: InFlight[] = [];
  /** Endpoints that currently drop everything they send and receive (partitions, freezes). */
  readonly #isolated = new Set<string>();
  /** Directed links (from key -> to key) that drop everything: one-way and two-way partitions. */
  readonly #blocked = new Set<string>();
  #order = 0;
  #nextPort = 10_000;
  readonly stats: MemoryNetworkStats = {
    sentCount: 0,
    lostCount: 0,
    duplicatedCount: 0,
    overflowCount: 0,
    deliveredCount: 0,
    unroutableCount: 0,
  };

  constructor(options: MemoryNetworkOptions) {
    assert(options.lossProbability >= 0 && options.lossProbability <= 1, "lossProbability out of [0, 1]");
    assert(
      options.duplicateProbability >= 0 && options.duplicateProbability <= 1,
      "duplicateProbability out of [0, 1]",
    );
    assert(options.inFlightMax > 0, "inFlightMax must be positive");
    this.#options = options;
  }

  /** A transport on `host:port` (port 0 picks a free one). `nowMs` stamps each send. */
  bind(nowMs: () => number, host = "127.0.0.1", port = 0): Transport {
    const local: Endpoint = { host, port: port === 0 ? this.#nextPort++ : port };
    const key = endpointKey(local);
    assert(!this.#handlers.has(key), `${key} is already bound`);
    this.#handlers.set(key, () => undefined);
    // Like a closed socket: a closed transport neither sends nor receives (and is not revived by onReceive).
    let isClosed = false;
    return {
      local,
      send: (to, bytes) => {
        if (!isClosed) this.#send(nowMs(), local, to, bytes);
      },
      onReceive: (handler) => {
        if (!isClosed) this.#handlers.set(key, handler);
      },
      close: async () => {
        if (isClosed) return;
        isClosed = true;
        this.#handlers.delete(key);
      },
    };
  }

  /** While isolated, everything `endpoint` sends or would receive is lost. */
  setIsolated(endpoint: Endpoint, isIsolated: boolean): void {
    if (isIsolated) this.#isolated.add(endpointKey(endpoint));
    else this.#isolated.delete(endpointKey(endpoint));
  }

  /** While blocked, every datagram `from` sends to `to` is lost (the reverse direction is not affected). */
  setLinkBlocked(from: Endpoint, to: Endpoint, isBlocked: boolean): void {
    const link = `${endpointKey(from)}>${endpointKey(to)}`;
    if (isBlocked) this.#blocked.add(link);
    else this.#blocked.delete(link);
  }

  get inFlightCount(): number {
    return this.#inFlight.length;
  }

  /** Delivers every datagram due at or before `nowMs`, in due order (ties in send order). */
  deliverDue(nowMs: number): number {
    const due = this.#inFlight.filter((item) => item.dueMs <= nowMs);
    if (due.length === 0) return 0;
    this.#inFlight = this.#inFlight.filter((item) => item.dueMs > nowMs);
    due.sort((a, b) => a.dueMs - b.dueMs || a.order - b.order);
    for (const item of due) this.#deliver(item);
    return due.length;
  }

  #send(nowMs: number, from: Endpoint, to: Endpoint, bytes: Uint8Array): void {
    this.stats.sentCount += 1;
    const rng = this.#options.rng;
    const isBlocked = this.#blocked.size > 0 && this.#blocked.has(`${endpointKey(from)}>${endpointKey(to)}`);
    if (isBlocked || this.#isolated.has(endpointKey(from)) || rng() < this.#options.lossProbability) {
      this.stats.lostCount += 1;
      return;
    }
    const copies = rng() < this.#options.duplicateProbability ? 2 : 1;
    if (copies === 2) this.stats.duplicatedCount += 1;
    for (let i = 0; i < copies; i += 1) {
      if (this.#inFlight.length >= this.#options.inFlightMax) {
        this.stats.overflowCount += 1;
        return;
      }
      let delayMs = Math.floor(rng() * (this.#options.delayMsMax + 1));
      const spikeProbability = this.#options.spikeProbability ?? 0;
      if (spikeProbability > 0 && rng() < spikeProbability) {
        const spikeMaxMs = this.#options.spikeDelayMsMax ?? this.#options.delayMsMax;
        delayMs = this.#options.delayMsMax + Math.floor(rng() * (spikeMaxMs - this.#options.delayMsMax + 1));
      }
      this.#inFlight.push({
        dueMs: nowMs + delayMs,
        order: this.#order++,
        to: endpointKey(to),
        datagram: { from, bytes: bytes.slice() },
      });
    }
  }

  #deliver(item: InFlight): void {
    const handler = this.#handlers.get(item.to);
    if (handler === undefined || this.#isolated.has(item.to)) {
      this.stats.unroutableCount += 1;
      return;
    }
    this.stats.deliveredCount += 1;
    handler(item.datagram);
  }
}
