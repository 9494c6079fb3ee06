/**
 * run-client's view of what the cluster survived (SPEC section 4): asks the dispatcher for its
 * picture every STATUS_EVERY_MS while the client runs (the progress line shows it), once more at the
 * end with a short bound, and turns both sides into the SurvivedView the statistics table prints.
 */
import { randomUUID } from "node:crypto";

import type { ClientHandle } from "../client/daemon.js";
import { DispatcherView } from "../client/dispatcher-view.js";
import type { SurvivedView } from "../client/stats.js";
import type { NodeId } from "../protocol/packets.js";
import { systemClock } from "../runtime/clock.js";
import { type Endpoint, endpointKey, type Transport } from "../transport/transport.js";

/** How often the client asks for the dispatcher's picture while it runs (ms). */
export const STATUS_EVERY_MS = 2_000;
/** How long the final question may take before the table is printed without the answer (ms). */
export const FINAL_STATUS_WAIT_MS = 1_500;
const FINAL_POLL_MS = 25;

/** The view and its timer. */
export interface ClientDispatcherView {
  readonly view: DispatcherView;
  /** Asks once more and waits for the answer (at most FINAL_STATUS_WAIT_MS); stops the timer. */
  finish(): Promise<void>;
  /** What the table prints: the client's counts and the dispatcher's latest picture, if any. */
  survived(client: ClientHandle): SurvivedView;
}

/** Starts asking; `transport` must be the client's (its answers are diverted to the view). */
export function startDispatcherView(transport: Transport, dispatcher: Endpoint, nodeId: NodeId): ClientDispatcherView {
  const view = new DispatcherView(nodeId, (bytes) => transport.send(dispatcher, bytes), randomUUID);
  const timer = setInterval(() => view.request(), STATUS_EVERY_MS);
  timer.unref();
  view.request();
  const address = endpointKey(dispatcher);
  return {
    view,
    async finish() {
      clearInterval(timer);
      const askedMs = systemClock.nowMs();
      view.request();
      while (systemClock.nowMs() - askedMs < FINAL_STATUS_WAIT_MS) {
        if ((view.latest?.receivedMs ?? Number.NEGATIVE_INFINITY) >= askedMs) return;
        await new Promise((resolve) => setTimeout(resolve, FINAL_POLL_MS));
      }
    },
    survived(client) {
      const picture = view.latest;
      return {
        resentCount: client.core.resentCount,
        replacedSeenCount: client.core.replacedSeenCount,
        dispatcher:
          picture === undefined || picture.outageCount === undefined
            ? { address }
            : {
                address,
                outageCount: picture.outageCount,
                replacedCount: picture.replacedCount,
                ageS: Math.max(0, (systemClock.nowMs() - picture.receivedMs) / 1_000),
              },
      };
    },
  };
}
