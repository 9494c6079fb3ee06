/**
 * `cluster <verb>`: the operator CLI, talking to a running dispatcher over the same UDP protocol.
 * This release has one verb, `rebalance` (run one overlay rebalancing round now and print how it
 * went); status, submit, result, cancel and calculators come with the admin plane.
 */
import { randomUUID } from "node:crypto";

import { Command } from "commander";

import { ConfigError, parseHostPort } from "../config/load.js";
import { decodeDatagram, encodePacket } from "../protocol/codec.js";
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { AdminRebalanceResult } from "../protocol/packets.js";
import { parseNumberFlag, runMain } from "./common.js";
import { openEdge } from "./edge.js";

const RESEND_MS = 500;
const PROGRESS_MS = 2_000;

interface RebalanceFlags {
  dispatcher: string;
  timeoutMs: string;
  json?: boolean;
  keyFile?: string;
}

/** Renders a rebalance result for a terminal. */
export function formatRebalance(result: AdminRebalanceResult): string {
  if (result.status === "no_overlay") return "no overlay: no live calculator heartbeats as the overlay root";
  const lines = [
    `rebalancing round ${result.waveId}: ${result.status === "done" ? "done" : "timed out (partial)"}`,
    `  nodes reached   ${result.reachedCount}/${result.nodeCount}`,
    `  wave messages   ${result.waveMessages}`,
    `  tasks moved     ${result.movedCount}`,
  ];
  if (result.loads.length > 0) {
    lines.push("  node            slots  queued before  queued after");
    for (const load of result.loads) {
      lines.push(
        `  ${load.id.padEnd(16)}${String(load.slots).padStart(5)}${String(load.before).padStart(15)}${String(load.after).padStart(14)}`,
      );
    }
  }
  return lines.join("\n");
}

async function rebalance(flags: RebalanceFlags): Promise<void> {
  const dispatcher = parseHostPort(flags.dispatcher, "--dispatcher");
  const timeoutMs = parseNumberFlag(flags.timeoutMs, "--timeout-ms", 1, 3_600_000);
  const transport = await openEdge({
    host: "0.0.0.0",
    port: 0,
    what: "cluster",
    keyFile: flags.keyFile,
    acceptFrom: [dispatcher],
  });
  const requestId = randomUUID();
  const request = encodePacket({ v: PROTOCOL_VERSION, type: "admin.rebalance", from: "cluster-cli", requestId });
  const startedMs = performance.now();
  const result = await new Promise<AdminRebalanceResult | undefined>((resolve) => {
    const send = (): void => transport.send(dispatcher, request);
    const resend = setInterval(send, RESEND_MS);
    const progress = setInterval(() => {
      const waitedS = ((performance.now() - startedMs) / 1_000).toFixed(0);
      process.stderr.write(`waiting for the rebalancing round (${waitedS} s)...\n`);
    }, PROGRESS_MS);
    const finish = (answer: AdminRebalanceResult | undefined): void => {
      clearInterval(resend);
      clearInterval(progress);
      clearTimeout(deadline);
      resolve(answer);
    };
    const deadline = setTimeout(() => finish(undefined), timeoutMs);
    transport.onReceive(({ bytes }) => {
      for (const packet of decodeDatagram(bytes).packets) {
        if (packet.type === "admin.rebalance.result" && packet.requestId === requestId) finish(packet);
      }
    });
    send();
  });
  await transport.close();
  if (result === undefined) {
    process.stderr.write(
      `No answer from the dispatcher at ${flags.dispatcher} within ${timeoutMs} ms; is it running?\n`,
    );
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${flags.json === true ? JSON.stringify(result) : formatRebalance(result)}\n`);
  process.exitCode = result.status === "done" ? 0 : 1;
}

/** Entry point of bin/cluster. */
export async function main(argv: readonly string[]): Promise<void> {
  await runMain(async () => {
    const program = new Command("cluster")
      .description("Operator CLI: talks to a running dispatcher.")
      .exitOverride()
      .configureOutput({ writeErr: (text) => process.stderr.write(text) })
      .showHelpAfterError("(run with --help for usage)");
    program
      .command("rebalance")
      .description("run one overlay rebalancing round now and print the loads before and after")
      .option("--dispatcher <host:port>", "dispatcher address", "127.0.0.1:5555")
      .option("--timeout-ms <ms>", "give up after this long", "30000")
      .option("--json", "print the result as one JSON object")
      .option("--key-file <file>", "the cluster's key file when it authenticates datagrams (docs/SECURITY.md)")
      .exitOverride()
      .action(async (flags: RebalanceFlags) => rebalance(flags));
    if (argv.length === 0)
      throw new ConfigError("Usage: cluster <verb> [options]; verbs: rebalance. Run cluster --help for details.");
    await program.parseAsync([...argv], { from: "user" });
  });
}
