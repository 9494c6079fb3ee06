/**
 * Wraps a sans-IO core so the simulation's checker sees every packet the core is given (after the
 * network and the host's decoding) and every output it produces, sends included, before the host
 * performs them. The wrapped core behaves exactly as the core.
 */
import type { Packet } from "../protocol/packet.js";
import type { HostedCore } from "../shell/core-host.js";
import type { Endpoint } from "../transport/transport.js";

/** What the wrapper reports. */
export interface CoreTap<O> {
  readonly beforePacket: (nowMs: number, packet: Packet) => void;
  readonly afterPacket?: (nowMs: number, packet: Packet) => void;
  readonly outputs: (nowMs: number, outputs: readonly O[]) => void;
}

/** `core` with every packet in and every output out reported to `tap`. */
export function tracedCore<O>(core: HostedCore<O>, tap: CoreTap<O>): HostedCore<O> {
  const traced: HostedCore<O> = {
    onPacket: (nowMs: number, from: Endpoint, packet: Packet): O[] => {
      tap.beforePacket(nowMs, packet);
      const outputs = core.onPacket(nowMs, from, packet);
      tap.outputs(nowMs, outputs);
      tap.afterPacket?.(nowMs, packet);
      return outputs;
    },
    onTick: (nowMs: number): O[] => {
      const outputs = core.onTick(nowMs);
      tap.outputs(nowMs, outputs);
      return outputs;
    },
  };
  const deadline = core.nextDeadlineMs?.bind(core);
  if (deadline !== undefined) traced.nextDeadlineMs = deadline;
  return traced;
}
