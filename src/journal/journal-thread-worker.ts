/**
 * The journal's writer thread (started by journal-thread.ts): opens its own connection through the
 * engine named in `workerData` (a {@link JournalWriterSpec}) and serves commit, maintenance and
 * close requests in the order they were sent. Commits that queued while it was busy are stored in
 * one transaction (group commit across turns). A commit's reply leaves only after its transaction is
 * durable at the store's `sync` level. Never throws: failures are replies.
 */
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";

import type { JournalMaintenance, JournalRecord, JournalWriter, JournalWriterSpec } from "./journal-store.js";
import type { ThreadReply, ThreadRequest } from "./journal-thread.js";

const spec = workerData as JournalWriterSpec;
const engine = (await import(spec.moduleUrl)) as { openJournalWriter(options: unknown): JournalWriter };
let writer: JournalWriter | undefined;
let openError = "";

/** The connection, opened on first use and again after an open failed (a retry may find the disk back). */
function ready(): JournalWriter | undefined {
  if (writer !== undefined) return writer;
  try {
    writer = engine.openJournalWriter(spec.options);
  } catch (error) {
    openError = `the journal writer thread cannot open the journal: ${(error as Error).message}`;
  }
  return writer;
}

function maintain(beforeWallMs: number, finalsMax: number): JournalMaintenance {
  const w = ready();
  if (w === undefined) return { error: openError };
  try {
    const expired = w.expire(beforeWallMs, finalsMax);
    w.checkpoint();
    return { expired };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Stores the commits in one transaction and answers each. */
function commitAll(port: MessagePort, commits: readonly Extract<ThreadRequest, { op: "commit" }>[]): void {
  if (commits.length === 0) return;
  const startedMs = performance.now();
  const records: JournalRecord[] = [];
  for (const commit of commits) records.push(...(JSON.parse(commit.recordsJson) as JournalRecord[]));
  const w = ready();
  const failure = w === undefined ? { code: "io" as const, message: openError } : w.commit(records);
  const storeMs = performance.now() - startedMs;
  for (const commit of commits)
    port.postMessage({ id: commit.id, op: "commit", failure, storeMs } satisfies ThreadReply);
}

/** Serves `first` and everything queued behind it, in order: consecutive commits as one transaction. */
function serve(port: MessagePort, first: ThreadRequest): void {
  const commits: Extract<ThreadRequest, { op: "commit" }>[] = [];
  for (let request: ThreadRequest | undefined = first; request !== undefined; ) {
    if (request.op === "commit") commits.push(request);
    else {
      commitAll(port, commits.splice(0));
      if (request.op === "maintain") {
        const result = maintain(request.beforeWallMs, request.finalsMax);
        port.postMessage({ id: request.id, op: "maintain", result } satisfies ThreadReply);
      } else {
        writer?.close();
        writer = undefined;
        port.postMessage({ id: request.id, op: "close" } satisfies ThreadReply);
        port.close();
        return;
      }
    }
    request = (receiveMessageOnPort(port)?.message as ThreadRequest | undefined) ?? undefined;
  }
  commitAll(port, commits);
}

const port = parentPort;
if (port !== null) port.on("message", (request: ThreadRequest) => serve(port, request));
