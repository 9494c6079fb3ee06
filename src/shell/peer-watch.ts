/**
 * "My peer does not answer" (SPEC section 8): a client or calculator whose dispatcher stays silent
 * says so at warn, naming the address, once after `warnAfterMs` of silence and then every `repeatMs`
 * while it lasts, and says at info when the peer is heard again. While the peer is silent the shell
 * sends a cheap probe (a `task.query` for a random id, answered `task.unknown` by any dispatcher) every
 * `probeEveryMs`, so an idle daemon, which otherwise hears nothing from a healthy dispatcher, can
 * tell silence from a dead peer.
 *
 * PeerSilence is the pure decision (time arrives as nowMs); watchPeer wraps a Transport to see what
 * arrives (after the edge's checks) and drives the decision from one unref'd timer. Never throws on
 * remote input: it only notes that a datagram from the peer arrived.
 */
import { randomUUID } from "node:crypto";

import type { Logger } from "pino";

import { encodePacket } from "../protocol/codec.js";
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { NodeId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";
import { type Datagram, type Endpoint, endpointKey, type Transport } from "../transport/transport.js";

/** Timing of the watch (ms). */
export interface PeerWatchTiming {
  /** Silence before the first warning. */
  readonly warnAfterMs: number;
  /** Between two warnings while the silence lasts. */
  readonly repeatMs: number;
  /** Between two probes while the peer is silent. */
  readonly probeEveryMs: number;
}

/** Defaults: warn after 5 s of silence, again every 30 s; probe every second of silence. */
export const PEER_WATCH_TIMING: PeerWatchTiming = { warnAfterMs: 5_000, repeatMs: 30_000, probeEveryMs: 1_000 };

/** What a check asks the shell to do. */
export interface PeerCheck {
  readonly shouldProbe: boolean;
  /** Set when a warning is due: how long (ms) the peer has been silent. */
  readonly warnSilentMs: number | undefined;
}

/** The pure silence tracker. */
export class PeerSilence {
  readonly #timing: PeerWatchTiming;
  #lastHeardMs: number;
  #lastProbeMs = Number.NEGATIVE_INFINITY;
  #nextWarnMs: number;
  #warnedCount = 0;

  constructor(timing: PeerWatchTiming, startMs: number) {
    assert(timing.warnAfterMs > 0 && timing.repeatMs > 0 && timing.probeEveryMs > 0, "peer watch times positive");
    this.#timing = timing;
    this.#lastHeardMs = startMs;
    this.#nextWarnMs = startMs + timing.warnAfterMs;
  }

  /** Warnings given during the current silence. */
  get warnedCount(): number {
    return this.#warnedCount;
  }

  /** The peer was heard; returns how long it had been silent (ms) when a warning had been given. */
  onHeard(nowMs: number): number | undefined {
    const silentMs = nowMs - this.#lastHeardMs;
    const wasWarned = this.#warnedCount > 0;
    this.#lastHeardMs = Math.max(this.#lastHeardMs, nowMs);
    this.#nextWarnMs = this.#lastHeardMs + this.#timing.warnAfterMs;
    this.#warnedCount = 0;
    return wasWarned ? silentMs : undefined;
  }

  /** Called periodically; `isPaused` (an emulated outage: silent by choice) neither probes nor warns. */
  onCheck(nowMs: number, isPaused = false): PeerCheck {
    if (isPaused) {
      // The silence we chose is not the peer's: start counting again when the pause ends.
      this.#lastHeardMs = Math.max(this.#lastHeardMs, nowMs);
      this.#nextWarnMs = this.#lastHeardMs + this.#timing.warnAfterMs;
      return { shouldProbe: false, warnSilentMs: undefined };
    }
    const silentMs = nowMs - this.#lastHeardMs;
    const shouldProbe = silentMs >= this.#timing.probeEveryMs && nowMs - this.#lastProbeMs >= this.#timing.probeEveryMs;
    if (shouldProbe) this.#lastProbeMs = nowMs;
    if (nowMs < this.#nextWarnMs) return { shouldProbe, warnSilentMs: undefined };
    this.#warnedCount += 1;
    this.#nextWarnMs = nowMs + this.#timing.repeatMs;
    return { shouldProbe, warnSilentMs: silentMs };
  }
}

/** What watchPeer needs. */
export interface PeerWatchSetup {
  readonly transport: Transport;
  readonly peer: Endpoint;
  /** Who the peer is in messages ("dispatcher"). */
  readonly peerName: string;
  /** Our node id (`from` of the probes). */
  readonly nodeId: NodeId;
  /** Datagrams from which sources count as the peer's (the edge already refused strangers). */
  readonly isPeer: (from: Endpoint) => boolean;
  readonly log: Logger;
  readonly nowMs: () => number;
  readonly timing?: PeerWatchTiming;
  /** True while we are silent on purpose (an emulated outage). */
  readonly isPaused?: () => boolean;
}

/**
 * Wraps `setup.transport`: the returned transport is the one to hand to the daemon (its receiver sees
 * every datagram as before). `stop()` ends the checks; closing the transport stops them too.
 */
export function watchPeer(setup: PeerWatchSetup): { transport: Transport; silence: PeerSilence; stop(): void } {
  const timing = setup.timing ?? PEER_WATCH_TIMING;
  const silence = new PeerSilence(timing, setup.nowMs());
  const address = endpointKey(setup.peer);
  const log = setup.log.child({ component: "peer-watch" });
  const inner = setup.transport;
  const probe = (): void => {
    const packet = { v: PROTOCOL_VERSION, type: "task.query", from: setup.nodeId, taskId: randomUUID() } as const;
    inner.send(setup.peer, encodePacket(packet));
  };
  const check = (): void => {
    const result = silence.onCheck(setup.nowMs(), setup.isPaused?.() ?? false);
    if (result.shouldProbe) probe();
    if (result.warnSilentMs !== undefined) {
      const silentS = Math.round(result.warnSilentMs / 1_000);
      log.warn(
        { peer: address, silentS, warning: silence.warnedCount },
        `${setup.peerName} at ${address} does not answer (silent for ${silentS} s); is it running, and is this the right address?`,
      );
    }
  };
  const timer = setInterval(check, Math.min(timing.probeEveryMs, timing.warnAfterMs, 1_000));
  timer.unref();
  const transport: Transport = {
    local: inner.local,
    send: (to, bytes) => inner.send(to, bytes),
    onReceive(handler: (datagram: Datagram) => void) {
      inner.onReceive((datagram) => {
        if (setup.isPeer(datagram.from)) {
          const silentMs = silence.onHeard(setup.nowMs());
          if (silentMs !== undefined) {
            log.info(
              { peer: address, silentS: Math.round(silentMs / 1_000) },
              `${setup.peerName} at ${address} answers again`,
            );
          }
        }
        handler(datagram);
      });
    },
    async close() {
      clearInterval(timer);
      await inner.close();
    },
  };
  return { transport, silence, stop: () => clearInterval(timer) };
}
