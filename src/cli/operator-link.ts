/**
 * The operator CLI's conversation with a dispatcher: one UDP socket (authenticated when a key file is
 * given), a request resent every RESEND_MS until an answer it accepts arrives or the timeout passes.
 * Every flag is validated before this opens anything.
 */

import { decodeDatagram, encodePacket } from "../protocol/codec.js";
import type { Packet } from "../protocol/packet.js";
import type { Endpoint } from "../transport/transport.js";
import { openEdge } from "./edge.js";

/** Resend period of a request (ms). */
export const RESEND_MS = 500;

/** An open link to one dispatcher. */
export interface OperatorLink {
  readonly dispatcher: Endpoint;
  readonly address: string;
  /** Sends `request` until `accept` returns a value (resolved) or `timeoutMs` passes (undefined). */
  ask<T>(request: Packet, accept: (packet: Packet) => T | undefined, timeoutMs: number): Promise<T | undefined>;
  close(): Promise<void>;
}

/** Opens a socket that takes packets only from `dispatcher`. */
export async function openOperatorLink(
  dispatcher: Endpoint,
  address: string,
  keyFile: string | undefined,
): Promise<OperatorLink> {
  const isV6 = dispatcher.host.includes(":");
  const transport = await openEdge({
    host: isV6 ? "::" : "0.0.0.0",
    port: 0,
    what: "cluster",
    keyFile,
    acceptFrom: [dispatcher],
  });
  let onPacket: ((packet: Packet) => void) | undefined;
  transport.onReceive(({ bytes }) => {
    for (const packet of decodeDatagram(bytes).packets) onPacket?.(packet);
  });
  return {
    dispatcher,
    address,
    ask(request, accept, timeoutMs) {
      const bytes = encodePacket(request);
      return new Promise((resolve) => {
        const send = (): void => transport.send(dispatcher, bytes);
        const resend = setInterval(send, RESEND_MS);
        const finish = (answer: ReturnType<typeof accept>): void => {
          clearInterval(resend);
          clearTimeout(deadline);
          onPacket = undefined;
          resolve(answer);
        };
        const deadline = setTimeout(() => finish(undefined), timeoutMs);
        onPacket = (packet) => {
          const answer = accept(packet);
          if (answer !== undefined) finish(answer);
        };
        send();
      });
    },
    close: () => transport.close(),
  };
}
