/**
 * The operator CLI's task and status verbs (SPEC 8): status [ID], calculators, submit, result ID,
 * cancel ID. Each validates every flag first, then asks the dispatcher over UDP (operator-link.ts),
 * prints a table a person can read or, with --json, one JSON document, and exits with SPEC 8's codes:
 * 0 done, 1 failed / unknown / no answer (naming the address tried), 2 bad usage, 3 not finished.
 */
import { randomUUID } from "node:crypto";

import { evaluateTask } from "../calculator/evaluate.js";
import { ConfigError, parseHostPort } from "../config/load.js";
import { DEADLINE_MS_MAX, INPUT_CHARS_MAX, PROTOCOL_VERSION, ROUNDS_MAX } from "../protocol/limits.js";
import type { Packet } from "../protocol/packet.js";
import type { AdminStatusResult, CalculatorRow } from "../protocol/packets.js";
import { parseNumberFlag } from "./common.js";
import { type OperatorLink, openOperatorLink, RESEND_MS } from "./operator-link.js";

const FROM = "cluster-cli";
/** Pages of calculators fetched at most (40 each: the registry's default calculatorsMax of 1 000). */
const STATUS_PAGES_MAX = 25;

/** Flags every verb takes. */
export interface OperatorFlags {
  dispatcher: string;
  timeoutMs: string;
  json?: boolean;
  keyFile?: string;
}

/** A task's state as `status ID` prints it. */
export type TaskState = "queued" | "running" | "succeeded" | "failed" | "unknown";

/** What the dispatcher says about one task. */
export interface TaskView {
  readonly id: string;
  readonly state: TaskState;
  readonly result?: string;
  readonly reason?: string;
}

const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Validates a task id argument (exit 2 when it is not a UUID). */
export function parseTaskId(value: string): string {
  if (!TASK_ID.test(value))
    throw new ConfigError(`A task ID is a UUID like 3f2a1c9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b, got "${value}".`);
  return value.toLowerCase();
}

/** The common flags, validated. */
export function parseCommon(flags: OperatorFlags): { address: string; timeoutMs: number } {
  parseHostPort(flags.dispatcher, "--dispatcher");
  return { address: flags.dispatcher, timeoutMs: parseNumberFlag(flags.timeoutMs, "--timeout-ms", 1, 3_600_000) };
}

/** Opens the link for validated flags. */
export async function linkFor(flags: OperatorFlags): Promise<OperatorLink> {
  return openOperatorLink(parseHostPort(flags.dispatcher, "--dispatcher"), flags.dispatcher, flags.keyFile);
}

/** Says the dispatcher did not answer (exit 1). */
export function noAnswer(address: string, timeoutMs: number): void {
  process.stderr.write(`No answer from the dispatcher at ${address} within ${timeoutMs} ms; is it running there?\n`);
  process.exitCode = 1;
}

/** Reads a dispatcher answer about `taskId` as a TaskView (undefined: not about this task). */
export function viewOf(taskId: string, packet: Packet): TaskView | undefined {
  if (!("taskId" in packet) || packet.taskId !== taskId) return undefined;
  switch (packet.type) {
    case "task.result":
      return { id: taskId, state: "succeeded", result: packet.result };
    case "task.failed":
      return { id: taskId, state: "failed", reason: packet.reason };
    case "task.ack":
      return packet.state === "queued" || packet.state === "running" ? { id: taskId, state: packet.state } : undefined;
    case "task.unknown":
      return { id: taskId, state: "unknown" };
    default:
      return undefined;
  }
}

/** Asks the dispatcher about one task. */
export function queryTask(link: OperatorLink, taskId: string, timeoutMs: number): Promise<TaskView | undefined> {
  return link.ask({ v: PROTOCOL_VERSION, type: "task.query", from: FROM, taskId }, (p) => viewOf(taskId, p), timeoutMs);
}

/** What the cluster survived since the dispatcher started (SPEC 4), when the dispatcher says. */
export interface SurvivedCounts {
  readonly outageCount: number;
  readonly replacedCount: number;
}

/** Fetches every page of the dispatcher's status. */
export async function fetchStatus(
  link: OperatorLink,
  timeoutMs: number,
): Promise<{ tasks: AdminStatusResult["tasks"]; calculators: CalculatorRow[]; survived?: SurvivedCounts } | undefined> {
  const calculators: CalculatorRow[] = [];
  let tasks: AdminStatusResult["tasks"] | undefined;
  let survived: SurvivedCounts | undefined;
  for (let page = 0; page < STATUS_PAGES_MAX; page += 1) {
    const requestId = randomUUID();
    const request: Packet = {
      v: PROTOCOL_VERSION,
      type: "admin.status",
      from: FROM,
      requestId,
      offset: calculators.length,
    };
    const answer = await link.ask(
      request,
      (p) => (p.type === "admin.status.result" && p.requestId === requestId ? p : undefined),
      timeoutMs,
    );
    if (answer === undefined) return undefined;
    tasks ??= answer.tasks;
    if (survived === undefined && answer.outageCount !== undefined) {
      survived = { outageCount: answer.outageCount, replacedCount: answer.replacedCount ?? 0 };
    }
    calculators.push(...answer.calculators);
    if (answer.calculators.length === 0 || calculators.length >= answer.calculatorsTotal) break;
  }
  if (tasks === undefined) return undefined;
  return survived === undefined ? { tasks, calculators } : { tasks, calculators, survived };
}

function formatMs(value: number | null): string {
  if (value === null) return "-";
  return value >= 1_000 ? `${(value / 1_000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

/** The calculators table (SPEC 8 columns). */
export function formatCalculators(rows: readonly CalculatorRow[]): string {
  const header = ["id", "address", "state", "capacity", "running", "failure rate", "latency", "last seen"];
  const cells = rows.map((r) => [
    r.id,
    r.address,
    r.state,
    String(r.capacity),
    String(r.running),
    `${(r.failureRate * 100).toFixed(1)} %`,
    formatMs(r.latencyMs),
    `${formatMs(r.lastSeenMs)} ago`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => cell.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  return [line(header), ...cells.map(line)].join("\n") + (rows.length === 0 ? "\n(no calculators registered)" : "");
}

/** The cluster summary of `status`. */
export function formatSummary(
  tasks: AdminStatusResult["tasks"],
  rows: readonly CalculatorRow[],
  survived?: SurvivedCounts,
): string {
  const byState = new Map<string, number>();
  for (const row of rows) byState.set(row.state, (byState.get(row.state) ?? 0) + 1);
  const states = ["alive", "suspect", "parked", "dead"].map((s) => `${byState.get(s) ?? 0} ${s}`).join(", ");
  const slots = rows.filter((r) => r.state !== "dead").reduce((sum, r) => sum + r.capacity, 0);
  return [
    `calculators  ${rows.length} (${states}); ${slots} slots`,
    `tasks        ${tasks.queued} queued, ${tasks.running} running, ${tasks.succeeded} succeeded, ${tasks.failed} failed`,
    ...(survived === undefined
      ? []
      : [
          `survived     ${survived.outageCount} calculator outages (declared dead), ` +
            `${survived.replacedCount} copies re-placed, since the dispatcher started`,
        ]),
  ].join("\n");
}

/** One line for a task view. */
export function formatTask(view: TaskView): string {
  if (view.state === "succeeded") return `${view.id} succeeded ${view.result}`;
  if (view.state === "failed") return `${view.id} failed ${view.reason}`;
  return `${view.id} ${view.state}`;
}

/** Submit flags, validated before anything is sent. */
export interface SubmitRequest {
  readonly input: string;
  readonly rounds: number;
  readonly priority: number;
  /** Bound (ms from arrival) to the final answer; absent: the dispatcher's queueTimeoutMs. */
  readonly deadlineMs?: number;
}

/** Validates submit's flags (exit 2 on any problem). */
export function parseSubmit(flags: {
  input?: string;
  rounds: string;
  priority: string;
  deadlineMs?: string;
}): SubmitRequest {
  if (flags.input === undefined) throw new ConfigError("cluster submit needs --input TEXT (at most 256 characters).");
  if (flags.input.length > INPUT_CHARS_MAX) {
    throw new ConfigError(`Flag --input is at most ${INPUT_CHARS_MAX} characters, got ${flags.input.length}.`);
  }
  const request = {
    input: flags.input,
    rounds: parseNumberFlag(flags.rounds, "--rounds", 1, ROUNDS_MAX),
    priority: parseNumberFlag(flags.priority, "--priority", 0, 9),
  };
  if (flags.deadlineMs === undefined) return request;
  return { ...request, deadlineMs: parseNumberFlag(flags.deadlineMs, "--deadline-ms", 1, DEADLINE_MS_MAX) };
}

/** Submits a task; resolves the first answer (or the final one with `isWaiting`), or undefined. */
export function submitTask(
  link: OperatorLink,
  taskId: string,
  request: SubmitRequest,
  isWaiting: boolean,
  timeoutMs: number,
): Promise<TaskView | undefined> {
  const packet: Packet = { v: PROTOCOL_VERSION, type: "task.submit", from: FROM, taskId, ...request };
  return link.ask(
    packet,
    (p) => {
      const view = viewOf(taskId, p);
      if (view === undefined || (isWaiting && (view.state === "queued" || view.state === "running"))) return undefined;
      return view;
    },
    timeoutMs,
  );
}

/** Computes a task in this process (--fallback-local). */
export function computeLocally(taskId: string, request: SubmitRequest): TaskView {
  return { id: taskId, state: "succeeded", result: evaluateTask(request.input, request.rounds) };
}

/** Polls `result ID --wait` until a final answer or the timeout. */
export async function waitForFinal(
  link: OperatorLink,
  taskId: string,
  timeoutMs: number,
): Promise<TaskView | undefined> {
  const endMs = performance.now() + timeoutMs;
  let last: TaskView | undefined;
  for (;;) {
    const leftMs = endMs - performance.now();
    if (leftMs <= 0) return last;
    last = await queryTask(link, taskId, leftMs);
    if (last === undefined || last.state === "succeeded" || last.state === "failed" || last.state === "unknown")
      return last;
    await new Promise((resolve) => setTimeout(resolve, RESEND_MS));
  }
}
