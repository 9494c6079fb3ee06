/**
 * `cluster spread --count N --rounds R [--wait]` (SPEC.md section 7): hands a batch of N tasks to the
 * overlay root through the dispatcher, which runs one Finn wave; prints each node's share and what it
 * claimed, the wave's messages, the tasks the dispatcher placed itself (nobody claimed them in time),
 * the batch's task ids, and with --wait the results' summary once every task has its final answer.
 * Exit 0 when the wave ended (and with --wait every task succeeded), 1 when there is no overlay, the
 * dispatcher refused or did not answer, or a task failed, 3 when --wait ran out of time first.
 */
import { randomUUID } from "node:crypto";

import { ConfigError } from "../config/load.js";
import { encodePacket } from "../protocol/codec.js";
import { PROTOCOL_VERSION, ROUNDS_MAX } from "../protocol/limits.js";
import {
  type AdminSpread,
  type AdminSpreadResult,
  SPREAD_REQUEST_BYTES,
  SPREAD_TASKS_MAX,
  spreadTaskId,
} from "../protocol/spread-packets.js";
import { parseNumberFlag } from "./common.js";
import { linkFor, noAnswer, type OperatorFlags, parseCommon } from "./operator-verbs.js";

/** Flags of the spread verb. */
export interface SpreadFlags extends OperatorFlags {
  count?: string;
  rounds: string;
  wait?: boolean;
}

const PROGRESS_MS = 2_000;

/** The request, padded with spaces to SPREAD_REQUEST_BYTES (the dispatcher never answers with more bytes). */
export function paddedSpreadRequest(requestId: string, count: number, rounds: number): AdminSpread {
  const bare: AdminSpread = {
    v: PROTOCOL_VERSION,
    type: "admin.spread",
    from: "cluster-cli",
    requestId,
    count,
    rounds,
  };
  const padChars = SPREAD_REQUEST_BYTES - encodePacket(bare).length - ',"pad":""'.length;
  return { ...bare, pad: " ".repeat(Math.max(0, padChars)) };
}

/** True when `result` is what the verb waits for. */
function isFinal(result: AdminSpreadResult, isWaiting: boolean): boolean {
  if (result.status === "spreading") return false;
  if (result.status === "no_overlay" || result.status === "overloaded") return true;
  return !isWaiting || result.succeededCount + result.failedCount >= result.count;
}

/** Renders a spread result for a terminal. */
export function formatSpread(result: AdminSpreadResult, isWaiting: boolean): string {
  if (result.status === "no_overlay") return "no overlay: no live calculator heartbeats as the overlay root";
  if (result.status === "overloaded") return `refused: the dispatcher cannot take ${result.count} more tasks now`;
  const lines = [
    `spread batch ${result.requestId}: ${result.count} tasks`,
    `  wave            ${result.waveId}: ${result.status === "done" ? "done" : "timed out (some nodes did not act in time)"}`,
    `  nodes acted     ${result.actedCount}/${result.nodeCount}`,
    `  wave messages   ${result.waveMessages}`,
    `  claimed         ${result.claimedCount}`,
    `  re-placed       ${result.replacedCount} (nobody claimed them: placed by the dispatcher)`,
  ];
  if (result.shares.length > 0) {
    lines.push("  node            share  claimed");
    for (const s of result.shares)
      lines.push(`  ${s.id.padEnd(16)}${String(s.share).padStart(5)}${String(s.claimed).padStart(9)}`);
  }
  const last = spreadTaskId(result.requestId, result.count - 1);
  lines.push(`  task ids        ${spreadTaskId(result.requestId, 0)} .. ${last} (index in the last 12 hex digits)`);
  if (isWaiting) lines.push(`  results         ${result.succeededCount} succeeded, ${result.failedCount} failed`);
  return lines.join("\n");
}

/** Exit code of a final (or last) spread answer. */
function exitCodeOf(result: AdminSpreadResult, isWaiting: boolean): number {
  if (result.status === "no_overlay" || result.status === "overloaded" || result.failedCount > 0) return 1;
  if (!isFinal(result, isWaiting)) return 3;
  return 0;
}

/** The spread verb. */
export async function spreadVerb(flags: SpreadFlags): Promise<void> {
  if (flags.count === undefined) throw new ConfigError(`cluster spread needs --count N (1..${SPREAD_TASKS_MAX}).`);
  const count = parseNumberFlag(flags.count, "--count", 1, SPREAD_TASKS_MAX);
  const rounds = parseNumberFlag(flags.rounds, "--rounds", 1, ROUNDS_MAX);
  const { address, timeoutMs } = parseCommon(flags);
  const isWaiting = flags.wait === true;
  const requestId = randomUUID();
  const link = await linkFor(flags);
  let last: AdminSpreadResult | undefined;
  let reportedMs = performance.now();
  try {
    const final = await link.ask(
      paddedSpreadRequest(requestId, count, rounds),
      (packet) => {
        if (packet.type !== "admin.spread.result" || packet.requestId !== requestId) return undefined;
        last = packet;
        if (isFinal(packet, isWaiting)) return packet;
        if (performance.now() - reportedMs >= PROGRESS_MS) {
          reportedMs = performance.now();
          process.stderr.write(
            `spread: ${packet.status}, ${packet.claimedCount} claimed, ${packet.succeededCount + packet.failedCount}/${packet.count} answered...\n`,
          );
        }
        return undefined;
      },
      timeoutMs,
    );
    const result = final ?? last;
    if (result === undefined) return noAnswer(address, timeoutMs);
    const { v: _v, from: _from, type: _type, ...fields } = result;
    const taskIds = Array.from({ length: result.count }, (_, i) => spreadTaskId(requestId, i));
    process.stdout.write(
      `${flags.json === true ? JSON.stringify({ ...fields, taskIds }) : formatSpread(result, isWaiting)}\n`,
    );
    process.exitCode = exitCodeOf(result, isWaiting);
  } finally {
    await link.close();
  }
}
