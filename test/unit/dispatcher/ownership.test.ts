/**
 * Goal: identity and ownership hold even without authentication (issue 12 item 3): a task belongs to
 * (client id, task id), so a submit or cancel from another client id neither redirects its answer nor
 * cancels it; the admin relay never answers with more bytes than the request had (an unpadded,
 * possibly spoofed request gets nothing back), answers only the source it heard from, and is
 * rate-limited.
 * Method: a DispatcherCore fed plain packets with explicit nowMs; complete output lists asserted.
 */
import { describe, expect, it } from "vitest";

import { paddedRequest } from "../../../src/cli/operator.js";
import { ADMIN_REQUESTS_BURST } from "../../../src/dispatcher/admin-relay.js";
import { decodeDatagram } from "../../../src/protocol/codec.js";
import type { AdminRebalance } from "../../../src/protocol/packets.js";
import { CALC, CLIENT, CLIENT_MOVED, Harness, resultTo, task } from "./fixtures.js";

const ATTACKER = { host: "10.6.6.6", port: 666 };

describe("tasks belong to (client id, task id)", () => {
  it("a resubmit under another client id does not move the answer; the owner still gets it", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.submit(1, 1);
    expect(h.submit(2, 1, ATTACKER, { from: "mallory" })).toEqual([
      { kind: "packet_dropped", reason: "not_owner", type: "task.submit" },
    ]);
    // The owner moving (NAT rebinding) is still followed.
    h.submit(3, 1, CLIENT_MOVED);
    const outputs = h.done(10, "a", 1, 1);
    expect(outputs).toContainEqual(resultTo(CLIENT_MOVED, 1, "a", 1));
    expect(outputs.some((o) => o.kind === "send" && o.to === ATTACKER)).toBe(false);
  });

  it("a cancel under another client id is dropped and the task runs on", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.submit(1, 1);
    const cancel = { v: 1, type: "task.cancel", from: "mallory", taskId: task(1) } as const;
    expect(h.core.onPacket(2, ATTACKER, cancel)).toEqual([
      { kind: "packet_dropped", reason: "not_owner", type: "task.cancel" },
    ]);
    expect(h.core.holderOf(task(1))).toBe("calc-a");
    expect(h.done(10, "a", 1, 1)).toContainEqual(resultTo(CLIENT, 1, "a", 1));
  });
});

describe("admin relay: no amplification, rate-limited", () => {
  const request = (n: number, pad?: string): AdminRebalance => ({
    v: 1,
    type: "admin.rebalance",
    from: "cluster-cli",
    requestId: `5e0c2d1a-7b3f-4c8e-9a6d-2b4f6a8c0e${String(n).padStart(2, "0")}`,
    ...(pad === undefined ? {} : { pad }),
  });

  it("drops an answer larger than an unpadded request, answers a padded one to its source only", () => {
    const h = new Harness();
    expect(h.core.onPacket(0, ATTACKER, request(1))).toEqual([
      { kind: "packet_dropped", reason: "amplification", type: "admin.rebalance" },
    ]);
    const padded = h.core.onPacket(1, ATTACKER, request(2, " ".repeat(400)));
    expect(padded).toEqual([{ kind: "send", to: ATTACKER, packet: expect.objectContaining({ status: "no_overlay" }) }]);
  });

  it("bin/cluster pads its request to a full datagram, which decodes", () => {
    const bytes = paddedRequest("5e0c2d1a-7b3f-4c8e-9a6d-2b4f6a8c0e1d");
    expect(bytes.length).toBe(16_384);
    expect(decodeDatagram(bytes).packets).toHaveLength(1);
  });

  it("relays at most a burst of requests at once, then refills at the configured rate", () => {
    const h = new Harness();
    const pad = " ".repeat(400);
    const answered = Array.from({ length: ADMIN_REQUESTS_BURST + 5 }, (_, i) =>
      h.core.onPacket(0, CALC.a, request(i, pad)),
    ).filter((outputs) => outputs[0]?.kind === "send").length;
    expect(answered).toBe(ADMIN_REQUESTS_BURST);
    expect(h.core.onPacket(0, CALC.a, request(90, pad))).toEqual([
      { kind: "packet_dropped", reason: "rate_limited", type: "admin.rebalance" },
    ]);
    expect(h.core.onPacket(1_000, CALC.a, request(91, pad))[0]?.kind).toBe("send");
  });
});
