/**
 * `cluster <verb>`: the operator CLI, talking to a running dispatcher over the same UDP protocol.
 * Verbs: status [ID], calculators, submit, result ID, cancel ID (operator-verbs.ts), rebalance (run one
 * overlay rebalancing round now and print how it went) and spread (spread-verb.ts: a Finn wave of tasks). Every flag is validated before anything is sent.
 */
import { randomUUID } from "node:crypto";

import { Command } from "commander";

import { ConfigError, parseHostPort } from "../config/load.js";
import { decodeDatagram, encodePacket } from "../protocol/codec.js";
import { DATAGRAM_BYTES_MAX, PROTOCOL_VERSION } from "../protocol/limits.js";
import type { AdminRebalanceResult } from "../protocol/packets.js";
import { parseNumberFlag, runMain } from "./common.js";
import { openEdge } from "./edge.js";
import {
  computeLocally,
  fetchStatus,
  formatCalculators,
  formatSummary,
  formatTask,
  linkFor,
  noAnswer,
  type OperatorFlags,
  parseCommon,
  parseSubmit,
  parseTaskId,
  queryTask,
  submitTask,
  type TaskView,
  waitForFinal,
} from "./operator-verbs.js";
import { type SpreadFlags, spreadVerb } from "./spread-verb.js";

const RESEND_MS = 500;

/** Why a dispatcher may not know a task id (`result ID` prints it on stderr; exit 1). */
export const UNKNOWN_HINT =
  "The dispatcher does not know this task: it was never submitted there, or its answer was dropped " +
  "(kept results.ttlMs after it was given, at most results.max answers; docs/CONFIG.md).";
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
    `rebalancing round ${result.waveId}: ${result.status === "done" ? "done" : result.status === "rejected" ? "rejected (inconsistent peer report; nothing moved)" : "timed out (partial)"}`,
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

/**
 * The request padded to DATAGRAM_BYTES_MAX: the dispatcher never answers with more bytes than it
 * received (no amplification), and a result may take up to a full datagram.
 */
export function paddedRequest(requestId: string): Uint8Array {
  const bare = { v: PROTOCOL_VERSION, type: "admin.rebalance", from: "cluster-cli", requestId } as const;
  const padBytes = DATAGRAM_BYTES_MAX - encodePacket(bare).length - ',"pad":""'.length;
  return encodePacket({ ...bare, pad: " ".repeat(Math.max(0, padBytes)) });
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
  const request = paddedRequest(requestId);
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

function print(flags: OperatorFlags, value: unknown, text: string): void {
  process.stdout.write(`${flags.json === true ? JSON.stringify(value) : text}\n`);
}

async function statusVerb(id: string | undefined, flags: OperatorFlags): Promise<void> {
  const taskId = id === undefined ? undefined : parseTaskId(id);
  const { address, timeoutMs } = parseCommon(flags);
  const link = await linkFor(flags);
  try {
    if (taskId !== undefined) {
      const view = await queryTask(link, taskId, timeoutMs);
      if (view === undefined) return noAnswer(address, timeoutMs);
      print(flags, view, formatTask(view));
      return;
    }
    const status = await fetchStatus(link, timeoutMs);
    if (status === undefined) return noAnswer(address, timeoutMs);
    print(flags, status, formatSummary(status.tasks, status.calculators, status.survived));
  } finally {
    await link.close();
  }
}

async function calculatorsVerb(flags: OperatorFlags): Promise<void> {
  const { address, timeoutMs } = parseCommon(flags);
  const link = await linkFor(flags);
  try {
    const status = await fetchStatus(link, timeoutMs);
    if (status === undefined) return noAnswer(address, timeoutMs);
    print(flags, status.calculators, formatCalculators(status.calculators));
  } finally {
    await link.close();
  }
}

/** Exit code of a task view: 0 succeeded, 1 failed or unknown, 3 not finished (SPEC 8). */
function exitCodeOf(view: TaskView): number {
  if (view.state === "succeeded") return 0;
  return view.state === "queued" || view.state === "running" ? 3 : 1;
}

interface SubmitFlags extends OperatorFlags {
  input?: string;
  rounds: string;
  priority: string;
  deadlineMs?: string;
  wait?: boolean;
  fallbackLocal?: boolean;
}

async function submitVerb(flags: SubmitFlags): Promise<void> {
  const request = parseSubmit(flags);
  const { address, timeoutMs } = parseCommon(flags);
  const taskId = randomUUID();
  const link = await linkFor(flags);
  try {
    const view = await submitTask(link, taskId, request, flags.wait === true, timeoutMs);
    if (view === undefined) {
      if (flags.fallbackLocal !== true) return noAnswer(address, timeoutMs);
      const local = computeLocally(taskId, request);
      process.stderr.write(`The dispatcher at ${address} did not answer within ${timeoutMs} ms: computed locally.\n`);
      print(flags, { ...local, computedLocally: true }, `${formatTask(local)} (computed locally)`);
      return;
    }
    if (flags.wait === true) {
      print(flags, view, formatTask(view));
      process.exitCode = exitCodeOf(view);
    } else {
      print(flags, view, view.state === "succeeded" || view.state === "failed" ? formatTask(view) : taskId);
    }
  } finally {
    await link.close();
  }
}

async function resultVerb(id: string, flags: OperatorFlags & { wait?: boolean }): Promise<void> {
  const taskId = parseTaskId(id);
  const { address, timeoutMs } = parseCommon(flags);
  const link = await linkFor(flags);
  try {
    const view =
      flags.wait === true ? await waitForFinal(link, taskId, timeoutMs) : await queryTask(link, taskId, timeoutMs);
    if (view === undefined) return noAnswer(address, timeoutMs);
    const text = view.state === "succeeded" ? (view.result as string) : formatTask(view);
    print(flags, view, text);
    if (view.state === "unknown" && flags.json !== true) process.stderr.write(`${UNKNOWN_HINT}\n`);
    process.exitCode = exitCodeOf(view);
  } finally {
    await link.close();
  }
}

async function cancelVerb(id: string, flags: OperatorFlags): Promise<void> {
  const taskId = parseTaskId(id);
  const { address, timeoutMs } = parseCommon(flags);
  const link = await linkFor(flags);
  try {
    const view = await link.ask(
      { v: PROTOCOL_VERSION, type: "task.cancel", from: "cluster-cli", taskId },
      (p) =>
        (p.type === "task.result" || p.type === "task.failed") && p.taskId === taskId
          ? p.type === "task.result"
            ? { id: taskId, state: "succeeded" as const, result: p.result }
            : { id: taskId, state: "failed" as const, reason: p.reason }
          : undefined,
      timeoutMs,
    );
    if (view === undefined) return noAnswer(address, timeoutMs);
    const isCancelled = view.state === "failed" && view.reason === "cancelled";
    print(
      flags,
      { ...view, cancelled: isCancelled },
      isCancelled ? `${taskId} cancelled` : `${formatTask(view)} (already final; not cancelled)`,
    );
    process.exitCode = isCancelled ? 0 : 1;
  } finally {
    await link.close();
  }
}

/** Adds the flags every verb takes. */
function common(command: Command): Command {
  return command
    .option("--dispatcher <host:port>", "dispatcher address", "127.0.0.1:5555")
    .option("--timeout-ms <ms>", "give up after this long", "5000")
    .option("--json", "print one JSON document")
    .option("--key-file <file>", "the cluster's key file when it authenticates datagrams (docs/SECURITY.md)")
    .exitOverride();
}

function addVerbs(program: Command): void {
  common(
    program
      .command("status [id]")
      .description("cluster summary, or one task's state (queued, running, succeeded, failed, unknown)"),
  ).action(async (id: string | undefined, flags: OperatorFlags) => statusVerb(id, flags));
  common(
    program
      .command("calculators")
      .description("table of calculators: id, address, state, capacity, running, failure rate, latency, last seen"),
  ).action(async (flags: OperatorFlags) => calculatorsVerb(flags));
  common(program.command("submit").description("submit a task and print its id (with --wait, its result)"))
    .option("--input <text>", "the task's input (at most 256 characters)")
    .option("--rounds <n>", "SHA-256 rounds", "1")
    .option("--priority <p>", "0..9, higher runs first", "0")
    .option(
      "--deadline-ms <ms>",
      "bound from arrival to the final answer; past it the task fails `deadline` (capped at the dispatcher's queueTimeoutMs)",
    )
    .option("--wait", "wait for the final answer and print it")
    .option("--fallback-local", "compute in this process when the dispatcher does not answer")
    .action(async (flags: SubmitFlags) => submitVerb(flags));
  common(
    program
      .command("result <id>")
      .description("print a task's result: exit 0 succeeded, 1 failed or unknown, 3 not finished"),
  )
    .option("--wait", "wait (up to --timeout-ms) for the final answer")
    .action(async (id: string, flags: OperatorFlags & { wait?: boolean }) => resultVerb(id, flags));
  common(program.command("cancel <id>").description("cancel a task: exit 0 cancelled, 1 already final")).action(
    async (id: string, flags: OperatorFlags) => cancelVerb(id, flags),
  );
  program
    .command("spread")
    .description("spread N tasks over the overlay with one Finn wave; print each node's share (SPEC 7)")
    .option("--count <n>", "tasks in the batch")
    .option("--rounds <n>", "SHA-256 rounds per task", "1")
    .option("--wait", "wait (up to --timeout-ms) for every task's final answer")
    .option("--dispatcher <host:port>", "dispatcher address", "127.0.0.1:5555")
    .option("--timeout-ms <ms>", "give up after this long", "30000")
    .option("--json", "print one JSON document (with every task id)")
    .option("--key-file <file>", "the cluster's key file when it authenticates datagrams (docs/SECURITY.md)")
    .exitOverride()
    .action(async (flags: SpreadFlags) => spreadVerb(flags));
}

/** Entry point of bin/cluster. */
export async function main(argv: readonly string[]): Promise<void> {
  await runMain(async () => {
    const program = new Command("cluster")
      .description("Operator CLI: talks to a running dispatcher.")
      .exitOverride()
      .configureOutput({ writeErr: (text) => process.stderr.write(text) })
      .showHelpAfterError("(run with --help for usage)");
    addVerbs(program);
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
      throw new ConfigError(
        "Usage: cluster <verb> [options]; verbs: status, calculators, submit, result, cancel, rebalance, spread. Run cluster --help for details.",
      );
    await program.parseAsync([...argv], { from: "user" });
  });
}
