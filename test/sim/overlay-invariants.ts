/**
 * The overlay's execution invariants (docs/OVERLAY.md "Invariants"), checked on the executions the
 * overlay-daemons harness reads from every node's log lines (each node and each life of a node):
 * 1. never two executions of one task at the same time (overlappingExecutions);
 * 2. a result once computed is never computed again unless it was lost: a task finished on some node
 *    runs again only if that node was killed, or cut off the network, between the finish and the next
 *    start (its result may then never have reached the dispatcher). A node that finished a task and
 *    stayed up and connected answers for it from its results cache; a second computation there means a
 *    receiver took a task twice, a giver kept a task it also moved, or a stale offer was taken.
 */
import type { LogLine } from "./overlay-daemons-harness.js";

/** One execution of a task: from its start to its finish, cancel, or the death of its node. */
export interface Execution {
  readonly node: string;
  readonly life: number;
  readonly startMs: number;
  endMs: number;
  /** It computed the result (a finish, not a cancel or the death of its node). */
  isFinished: boolean;
}

/** When a node could not talk to the dispatcher: killed (from that time) or cut off (a window). */
interface Outage {
  readonly node: string;
  readonly fromMs: number;
  readonly toMs: number;
}

function outagesOf(lines: readonly LogLine[]): Outage[] {
  const out: Outage[] = [];
  const cutSince = new Map<string, number>();
  for (const line of lines) {
    const atMs = Number(line["simMs"]);
    if (line.msg === "sim: node killed") out.push({ node: String(line["node"]), fromMs: atMs, toMs: atMs });
    else if (line.msg === "sim: subtree cut off")
      for (const node of line["nodes"] as string[]) cutSince.set(node, atMs);
    else if (line.msg === "sim: subtree back")
      for (const node of line["nodes"] as string[]) out.push({ node, fromMs: cutSince.get(node) ?? atMs, toMs: atMs });
  }
  for (const [node, fromMs] of cutSince) out.push({ node, fromMs, toMs: Number.POSITIVE_INFINITY });
  return out;
}

/** Executions that computed a result already computed, with nothing that could have lost it. */
export function recomputedResults(
  lines: readonly LogLine[],
  executions: ReadonlyMap<string, readonly Execution[]>,
): string[] {
  const outages = outagesOf(lines);
  const couldLose = (node: string, fromMs: number, toMs: number): boolean =>
    outages.some((o) => o.node === node && o.fromMs <= toMs && o.toMs >= fromMs);
  const out: string[] = [];
  for (const [taskId, list] of executions) {
    const byStart = [...list].sort((a, b) => a.startMs - b.startMs);
    for (let j = 1; j < byStart.length; j += 1) {
      const later = byStart[j] as Execution;
      for (const earlier of byStart.slice(0, j)) {
        if (!earlier.isFinished || couldLose(earlier.node, earlier.endMs, later.startMs)) continue;
        out.push(
          `${taskId}: computed on ${earlier.node}#${earlier.life} by ${earlier.endMs}, again on ${later.node}#${later.life} at ${later.startMs}`,
        );
      }
    }
  }
  return out;
}

/** Executions per task from the calculators' log lines: start, then finish, cancel or node death. */
export function executionsOf(lines: readonly LogLine[]): Map<string, Execution[]> {
  const byTask = new Map<string, Execution[]>();
  const open = new Map<string, Execution>(); // node|life|task -> running execution
  const endAll = (prefix: string, atMs: number): void => {
    for (const [key, execution] of open) {
      if (!key.startsWith(prefix)) continue;
      execution.endMs = atMs;
      open.delete(key);
    }
  };
  for (const line of lines) {
    const atMs = Number(line["simMs"]);
    const node = String(line["node"]);
    const life = Number(line["life"]);
    const taskId = String(line["taskId"]);
    const key = `${node}|${life}|${taskId}`;
    if (line.msg === "task started") {
      const execution: Execution = { node, life, startMs: atMs, endMs: Number.POSITIVE_INFINITY, isFinished: false };
      byTask.set(taskId, [...(byTask.get(taskId) ?? []), execution]);
      open.set(key, execution);
    } else if (
      line.msg === "task finished" ||
      (line.msg === "copy cancelled by the dispatcher" && line["wasRunning"] === true)
    ) {
      const execution = open.get(key);
      if (execution !== undefined) {
        execution.endMs = atMs;
        execution.isFinished = line.msg === "task finished";
      }
      open.delete(key);
    } else if (line.msg === "sim: node killed") {
      endAll(`${node}|`, atMs);
    }
  }
  return byTask;
}

/** Pairs of executions of one task that overlap in time on two nodes (or two lives of one node). */
export function overlappingExecutions(executions: ReadonlyMap<string, readonly Execution[]>): string[] {
  const out: string[] = [];
  for (const [taskId, list] of executions) {
    for (let i = 0; i < list.length; i += 1) {
      for (let j = i + 1; j < list.length; j += 1) {
        const a = list[i] as Execution;
        const b = list[j] as Execution;
        if (a.startMs < b.endMs && b.startMs < a.endMs)
          out.push(
            `${taskId}: ${a.node}#${a.life} [${a.startMs}, ${a.endMs}) and ${b.node}#${b.life} [${b.startMs}, ${b.endMs})`,
          );
      }
    }
  }
  return out;
}
