/**
 * Goal: an offer its giver presumed moved is no longer resent. The giver presumes it at
 * waveTimeoutMs; the dispatcher may have placed its tasks elsewhere by then (the giver was cut off and
 * declared dead), so an offer still resent when the giver is back would bring a stale move to the
 * receiver (issue 13 review). And the link's restamp limit agrees with the presumption: an unstamped
 * offer exactly restampAgeMaxMs old is given up, as MoveNode presumes it moved at exactly that age.
 * Method: OverlayLink and MoveNode with hand-fed packets and explicit nowMs; performMove with fake ports.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";

import { type AgentPorts, performMove } from "../../../src/overlay/agent-outputs.js";
import { OverlayLink } from "../../../src/overlay/link.js";
import { MoveNode, type MoveQueue } from "../../../src/overlay/move.js";
import { retryPolicy } from "../../../src/reliable/retry-policy.js";

type Incoming = Parameters<OverlayLink["onPacket"]>[1];

const link = (id: string, boot = 1, restampAgeMaxMs?: number) =>
  new OverlayLink({
    id,
    unackedMax: 8,
    dedupMax: 16,
    dedupTtlMs: 60_000,
    policy: retryPolicy([100, 200]),
    boot,
    seqStart: boot * 1_000,
    requireBootTypes: new Set(["overlay.move"]),
    ...(restampAgeMaxMs === undefined ? {} : { restampAgeMaxMs }),
  });

describe("a move offer presumed moved", () => {
  it("is no longer resent by the link once abandoned; other packets to that peer still are", () => {
    const giver = link("g");
    giver.send(0, "r", { type: "overlay.move", round: 3, index: 1, tasks: [] });
    const other = giver.send(0, "r", { type: "wave.explore", waveId: 7 });
    expect(giver.abandonOffer("r", 3, 0)).toBe(false); // another offer: untouched
    expect(giver.abandonOffer("q", 3, 1)).toBe(false); // another peer: untouched
    expect(giver.abandonOffer("r", 3, 1)).toBe(true);
    expect(giver.abandonedOfferCount).toBe(1);
    const resent = giver.onTick(10_000).map((send) => send.packet.type);
    expect(resent).toEqual([other?.packet.type]);
  });

  it("is abandoned by the agent's move outputs when MoveNode presumes it moved", () => {
    const queue: MoveQueue = {
      reserveQueued: () => [{ taskId: "00000000-0000-4000-8000-00000000000a", input: "abc", rounds: 1 }],
      commitMoved: () => undefined,
      releaseReserved: () => undefined,
      acceptIncoming: () => ({ accepted: [], refused: [] }),
    };
    const move = new MoveNode({ id: "g", movesRememberedMax: 16, rememberMs: 60_000 }, queue);
    const giverLink = link("g");
    const abandoned: string[] = [];
    const ports: AgentPorts = {
      queue: {
        slots: 1,
        queuedCount: () => 0,
        reserveQueued: () => [],
        commitMoved: () => undefined,
        releaseReserved: () => undefined,
        acceptIncoming: () => ({ accepted: [], refused: [] }),
      },
      log: pino({ level: "silent" }),
      send: (nowMs, to, draft) => void giverLink.send(nowMs, to, draft),
      drop: () => undefined,
      abandonOffer: (to, round, index) => {
        abandoned.push(`${to}|${round}|${index}`);
        giverLink.abandonOffer(to, round, index);
      },
    };
    performMove(ports, 0, move.onOrder(0, "root", { round: 4, index: 2, from: "g", to: "r", count: 1 }));
    expect(giverLink.unackedCount).toBe(1); // the offer, resent until acked
    performMove(ports, 1_999, move.expireOffers(1_999, 2_000));
    expect(abandoned).toEqual([]);
    performMove(ports, 2_000, move.expireOffers(2_000, 2_000));
    expect(abandoned).toEqual(["r|4|2"]);
    // Only the report to the root is left to resend; the offer is gone.
    expect(giverLink.onTick(60_000).map((send) => send.packet.type)).toEqual(["overlay.move.report"]);
  });

  it("an unstamped offer exactly restampAgeMaxMs old is given up, like MoveNode's presumption at that age", () => {
    const giver = link("g", 5, 2_000);
    const offer = giver.send(0, "r", { type: "overlay.move", round: 1, index: 0, tasks: [] })?.packet as Incoming;
    const receiver = link("r", 200);
    receiver.onPacket(1_990, offer);
    const [retry] = receiver.onTick(1_995);
    giver.onPacket(2_000, retry?.packet as Incoming);
    expect(giver.expiredUnstampedCount).toBe(1);
    expect(giver.restampedCount).toBe(0);
    expect(giver.unackedCount).toBe(0);
  });
});
