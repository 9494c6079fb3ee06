/**
 * The edge of every daemon: a {@link Transport} decorator that, for each received datagram and in
 * this order, (1) charges the source's token bucket, (2) drops sources the node does not talk to,
 * (3) with a keyring, checks the auth envelope's tag and then its replay window, and only then hands
 * the payload to the node, which decodes it. Each step is cheaper than the next, so a flood is shed
 * before it costs an HMAC or a JSON parse. Outbound datagrams (single packets and batch frames alike)
 * are sealed as one envelope each. Every drop is counted by reason and changes no other state.
 * The keyring can be replaced at any time (SIGHUP reload); the sender id is drawn once per process.
 */
import type { Datagram, Endpoint, Transport } from "../transport/transport.js";
import { endpointKey } from "../transport/transport.js";
import { COUNTER_MAX, open, SENDER_ID_BYTES, seal } from "./envelope.js";
import type { Keyring } from "./keyring.js";
import { ReplayGuard } from "./replay-guard.js";
import { edgeCost, SOURCE_LIMITER_DEFAULTS, SourceLimiter, type SourceLimiterConfig } from "./source-limiter.js";

/** Why the edge dropped a datagram (counter names `edge_dropped.<reason>`). */
export type EdgeDropReason = "rate" | "source" | "auth" | "replay";

/** What the edge needs besides the inner transport. */
export interface EdgeOptions {
  /** Keys; absent = no authentication (the cluster trusts its network). */
  readonly keyring?: Keyring | undefined;
  /** Wall-clock ms (Date.now in daemons): envelope timestamps are compared across hosts. */
  readonly wallMs: () => number;
  /** Monotonic ms for the token buckets. */
  readonly nowMs: () => number;
  /** SENDER_ID_BYTES random bytes, drawn once at start. */
  readonly senderId: Uint8Array;
  /** Sources this node takes datagrams from; absent = anyone (a dispatcher). */
  readonly acceptFrom?: ((from: Endpoint) => boolean) | undefined;
  readonly limiter?: SourceLimiterConfig;
  /** Most senders whose replay windows are kept. */
  readonly replaySendersMax?: number;
}

/** Drop counters of an edge, by reason, plus finer detail for the logs. */
export interface EdgeStats {
  readonly dropped: Record<EdgeDropReason, number>;
  /** Finer reasons under auth and replay (unknown_key, bad_tag, duplicate, stale_time, ...). */
  readonly detail: Map<string, number>;
  acceptedCount: number;
  sealedCount: number;
}

/** A transport with an edge in front of it. */
export class EdgeTransport implements Transport {
  readonly stats: EdgeStats = {
    dropped: { rate: 0, source: 0, auth: 0, replay: 0 },
    detail: new Map(),
    acceptedCount: 0,
    sealedCount: 0,
  };
  readonly #inner: Transport;
  readonly #options: EdgeOptions;
  readonly #limiter: SourceLimiter;
  readonly #replay: ReplayGuard;
  #keyring: Keyring | undefined;
  #counter = 0;
  #handler: ((datagram: Datagram) => void) | undefined;

  constructor(inner: Transport, options: EdgeOptions) {
    if (options.senderId.length !== SENDER_ID_BYTES) throw new Error("sender id must have SENDER_ID_BYTES bytes");
    this.#inner = inner;
    this.#options = options;
    this.#keyring = options.keyring;
    this.#limiter = new SourceLimiter(options.limiter ?? SOURCE_LIMITER_DEFAULTS);
    this.#replay = new ReplayGuard(options.replaySendersMax);
    inner.onReceive((datagram) => this.#onDatagram(datagram));
  }

  get local(): Endpoint {
    return this.#inner.local;
  }

  /** The keys in use (undefined: authentication off). */
  get keyring(): Keyring | undefined {
    return this.#keyring;
  }

  /** Replaces the keys (a reload); turning auth on or off at run time is refused by the caller. */
  set keyring(next: Keyring | undefined) {
    this.#keyring = next;
  }

  send(to: Endpoint, bytes: Uint8Array): void {
    const keyring = this.#keyring;
    if (keyring === undefined) {
      this.#inner.send(to, bytes);
      return;
    }
    // 2^48 datagrams: nine years at a million a second; restarting draws a new sender id anyway.
    if (this.#counter >= COUNTER_MAX) throw new Error("auth counter exhausted: restart the daemon");
    this.#counter += 1;
    this.stats.sealedCount += 1;
    const stamp = { senderId: this.#options.senderId, counter: this.#counter, timeMs: this.#options.wallMs() };
    this.#inner.send(to, seal(keyring, stamp, bytes));
  }

  onReceive(handler: (datagram: Datagram) => void): void {
    this.#handler = handler;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #onDatagram(datagram: Datagram): void {
    const { from } = datagram;
    if (!this.#limiter.allow(endpointKey(from), this.#options.nowMs(), edgeCost(datagram.bytes.length))) {
      this.#drop("rate", "rate");
      return;
    }
    if (this.#options.acceptFrom !== undefined && !this.#options.acceptFrom(from)) {
      this.#drop("source", "source");
      return;
    }
    const keyring = this.#keyring;
    if (keyring === undefined) {
      this.stats.acceptedCount += 1;
      this.#handler?.(datagram);
      return;
    }
    const opened = open(keyring, datagram.bytes);
    if (!opened.ok) {
      this.#drop("auth", opened.detail);
      return;
    }
    const verdict = this.#replay.accept(opened.sender, opened.counter, opened.timeMs, this.#options.wallMs());
    if (verdict !== "accepted") {
      this.#drop("replay", verdict);
      return;
    }
    this.stats.acceptedCount += 1;
    this.#handler?.({ from, bytes: opened.payload });
  }

  #drop(reason: EdgeDropReason, detail: string): void {
    this.stats.dropped[reason] += 1;
    this.stats.detail.set(detail, (this.stats.detail.get(detail) ?? 0) + 1);
  }
}
