/**
 * Goal: the client's dispatcher view (SPEC 4, the dispatcher-side picture) asks admin.status for the
 * counts alone (an offset past every calculator), keeps only answers to its own recent requests with
 * the time they arrived, leaves every other packet to the core, and renders one short line that
 * says how old the figures are once they are stale; the progress line carries it.
 * Method: DispatcherView with a capturing send and sequential request ids; the codec decodes what it
 * sent; formatPicture and progressText on plain values.
 */
import { describe, expect, it } from "vitest";
import { progressText } from "../../../src/cli/progress.js";
import type { ClientHandle } from "../../../src/client/daemon.js";
import { DispatcherView, formatPicture } from "../../../src/client/dispatcher-view.js";
import { StatsRecorder } from "../../../src/client/stats.js";
import { decodePacket } from "../../../src/protocol/codec.js";
import type { Packet } from "../../../src/protocol/packet.js";

const id = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

function view(): { view: DispatcherView; sent: Packet[] } {
  const sent: Packet[] = [];
  let next = 0;
  const v = new DispatcherView(
    "client-1",
    (bytes) => {
      const decoded = decodePacket(bytes);
      if (decoded.ok) sent.push(decoded.packet);
    },
    () => id(++next),
  );
  return { view: v, sent };
}

const answer = (requestId: string, extra: object = { aliveCount: 3, outageCount: 2, replacedCount: 4 }): Packet =>
  ({
    v: 1,
    type: "admin.status.result",
    from: "dispatcher",
    requestId,
    tasks: { queued: 1, running: 5, succeeded: 40, failed: 2 },
    calculatorsTotal: 3,
    offset: 1_000_000,
    calculators: [],
    ...extra,
  }) as Packet;

describe("DispatcherView", () => {
  it("asks for the counts alone and keeps answers to its own requests", () => {
    const { view: v, sent } = view();
    v.request();
    expect(sent).toEqual([{ v: 1, type: "admin.status", from: "client-1", requestId: id(1), offset: 1_000_000 }]);
    expect(v.onPacket(10, answer(id(99)))).toBe(true); // not ours: taken away from the core, not kept
    expect(v.latest).toBeUndefined();
    expect(v.onPacket(20, answer(id(1)))).toBe(true);
    expect(v.latest).toEqual({
      receivedMs: 20,
      tasks: { queued: 1, running: 5, succeeded: 40, failed: 2 },
      calculatorsTotal: 3,
      aliveCount: 3,
      outageCount: 2,
      replacedCount: 4,
    });
    const ack: Packet = { v: 1, type: "task.ack", from: "dispatcher", taskId: id(5), state: "queued" };
    expect(v.onPacket(30, ack)).toBe(false); // the core's packet
  });

  it("remembers only its last 4 requests", () => {
    const { view: v } = view();
    for (let i = 0; i < 5; i += 1) v.request();
    v.onPacket(10, answer(id(1)));
    expect(v.latest).toBeUndefined();
    v.onPacket(11, answer(id(2)));
    expect(v.latest?.receivedMs).toBe(11);
  });

  it("renders one line, with the age once the figures are 5 s old, and without the counts an old dispatcher lacks", () => {
    const { view: v } = view();
    v.request();
    v.onPacket(1_000, answer(id(1)));
    const picture = v.latest;
    if (picture === undefined) throw new Error("no picture");
    expect(formatPicture(picture, 1_500)).toBe(
      "dispatcher: 3/3 calculators alive, queued 1, running 5, outages 2, re-placed 4",
    );
    expect(formatPicture(picture, 7_000)).toBe(
      "dispatcher: 3/3 calculators alive, queued 1, running 5, outages 2, re-placed 4 (6 s old)",
    );
    v.request();
    v.onPacket(8_000, answer(id(2), {}));
    expect(formatPicture(v.latest ?? picture, 8_000)).toBe("dispatcher: 3 calculators, queued 1, running 5");
  });

  it("the progress line shows the client's counts and resends, then the dispatcher's picture", () => {
    const { view: v } = view();
    const client = {
      stats: new StatsRecorder(),
      core: { isSending: true, pendingCount: 2, resentCount: 1 },
    } as unknown as ClientHandle;
    expect(progressText(client, 0, 2_000, v)).toBe(
      "2.0s sending: sent 0, ok 0, failed 0, outstanding 2, p50 -, resent 1",
    );
    v.request();
    v.onPacket(1_900, answer(id(1)));
    expect(progressText(client, 0, 2_000, v)).toBe(
      "2.0s sending: sent 0, ok 0, failed 0, outstanding 2, p50 -, resent 1 | " +
        "dispatcher: 3/3 calculators alive, queued 1, running 5, outages 2, re-placed 4",
    );
  });
});
