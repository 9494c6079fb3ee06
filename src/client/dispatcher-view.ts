/**
 * The dispatcher-side picture a client shows (SPEC section 4: what the cluster survived "from the
 * client's side and, where it can ask, from the dispatcher"): the client asks `admin.status` for the
 * counts alone (an offset past every calculator, so the answer carries no rows and stays small) and
 * keeps the latest answer with the time it arrived. Pure: time arrives as nowMs, sending is a callback.
 */
import { encodePacket } from "../protocol/codec.js";
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { Packet } from "../protocol/packet.js";
import type { AdminStatusResult, NodeId } from "../protocol/packets.js";

/** An offset past any registry (calculatorsMax is at most 100 000): the answer lists no calculator. */
const COUNTS_ONLY_OFFSET = 1_000_000;
/** Request ids remembered, so an answer to one of the last few requests is still taken. */
const REQUESTS_KEPT_MAX = 4;

/** What the dispatcher said, and when (ms, the client's clock) it said it. */
export interface DispatcherPicture {
  readonly receivedMs: number;
  readonly tasks: AdminStatusResult["tasks"];
  readonly calculatorsTotal: number;
  /** Undefined from a dispatcher that does not report it. */
  readonly aliveCount: number | undefined;
  readonly outageCount: number | undefined;
  readonly replacedCount: number | undefined;
}

/** Asks for and keeps the dispatcher's picture. */
export class DispatcherView {
  readonly #nodeId: NodeId;
  readonly #send: (bytes: Uint8Array) => void;
  readonly #newRequestId: () => string;
  /** BOUNDED: REQUESTS_KEPT_MAX ids, oldest dropped first. */
  readonly #requestIds: string[] = [];
  #latest: DispatcherPicture | undefined;

  constructor(nodeId: NodeId, send: (bytes: Uint8Array) => void, newRequestId: () => string) {
    this.#nodeId = nodeId;
    this.#send = send;
    this.#newRequestId = newRequestId;
  }

  /** The latest answer, or undefined before the first. */
  get latest(): DispatcherPicture | undefined {
    return this.#latest;
  }

  /** Sends one admin.status asking for the counts alone. */
  request(): void {
    const requestId = this.#newRequestId();
    this.#requestIds.push(requestId);
    if (this.#requestIds.length > REQUESTS_KEPT_MAX) this.#requestIds.shift();
    const packet = {
      v: PROTOCOL_VERSION,
      type: "admin.status",
      from: this.#nodeId,
      requestId,
      offset: COUNTS_ONLY_OFFSET,
    } as const;
    this.#send(encodePacket(packet));
  }

  /** Takes an answer to one of our recent requests; true when `packet` was one (the core never sees it). */
  onPacket(nowMs: number, packet: Packet): boolean {
    if (packet.type !== "admin.status.result") return false;
    if (!this.#requestIds.includes(packet.requestId)) return true; // not ours (or too old): dropped here
    this.#latest = {
      receivedMs: nowMs,
      tasks: packet.tasks,
      calculatorsTotal: packet.calculatorsTotal,
      aliveCount: packet.aliveCount,
      outageCount: packet.outageCount,
      replacedCount: packet.replacedCount,
    };
    return true;
  }
}

/** One short line of the picture: `dispatcher: 3/3 calculators alive, queued 0, running 3, outages 1, re-placed 2`. */
export function formatPicture(picture: DispatcherPicture, nowMs: number): string {
  const alive =
    picture.aliveCount === undefined
      ? `${picture.calculatorsTotal} calculators`
      : `${picture.aliveCount}/${picture.calculatorsTotal} calculators alive`;
  const survived =
    picture.outageCount === undefined
      ? ""
      : `, outages ${picture.outageCount}, re-placed ${picture.replacedCount ?? 0}`;
  const ageS = Math.max(0, (nowMs - picture.receivedMs) / 1_000);
  const age = ageS >= 5 ? ` (${ageS.toFixed(0)} s old)` : "";
  return `dispatcher: ${alive}, queued ${picture.tasks.queued}, running ${picture.tasks.running}${survived}${age}`;
}
