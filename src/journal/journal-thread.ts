/**
 * Commits off the dispatcher's thread: a `node:worker_threads` worker (journal-thread-worker.ts) owns
 * a second connection to the journal and runs commits, expiry and checkpoints in the order they were
 * sent, so the dispatcher keeps handling packets while a batch is fsynced; batches sent meanwhile are
 * stored together in the thread's next transaction. Replies come back as messages, in order; a
 * thread that dies fails what it was doing (io) and is started again on the next request.
 */
import { Worker } from "node:worker_threads";

import type {
  JournalAsyncWriter,
  JournalMaintenance,
  JournalRecord,
  JournalStore,
  JournalWriteFailure,
  JournalWriterSpec,
} from "./journal-store.js";

/** A request to the writer thread. */
export type ThreadRequest =
  | {
      readonly id: number;
      readonly op: "commit";
      /** The records as JSON text: one string crosses threads for less than a structured clone of each record. */
      readonly recordsJson: string;
    }
  | { readonly id: number; readonly op: "maintain"; readonly beforeWallMs: number; readonly finalsMax: number }
  | { readonly id: number; readonly op: "close" };

/** The writer thread's answer to the request with the same id. */
export type ThreadReply =
  | {
      readonly id: number;
      readonly op: "commit";
      readonly failure: JournalWriteFailure | undefined;
      /** How long the thread spent on the transaction (ms, fsync included) that stored this batch, with those queued beside it. */
      readonly storeMs: number;
    }
  | { readonly id: number; readonly op: "maintain"; readonly result: JournalMaintenance }
  | { readonly id: number; readonly op: "close" };

interface Waiting {
  readonly onReply: (reply: ThreadReply) => void;
  /** The thread ended before it replied. */
  readonly onLost: (why: string) => void;
}

/** Longest a close waits for the thread to finish (ms) before it is terminated: a hung disk must not hang a stop. */
export const THREAD_CLOSE_WAIT_MS = 5_000;
/** Commit times kept for reports. */
const STORE_SAMPLES_MAX = 8_192;

/** The writer thread's script, beside this file (dist/src/journal/ after the build). */
export const JOURNAL_THREAD_SCRIPT = new URL("./journal-thread-worker.js", import.meta.url);

/** A {@link JournalAsyncWriter} on a worker thread; see the file comment. */
export class ThreadJournalWriter implements JournalAsyncWriter {
  readonly #spec: JournalWriterSpec;
  readonly #script: URL;
  #worker: Worker | undefined;
  #lastError = "";
  #nextId = 1;
  /**
   * Requests sent and not answered. BOUNDED: commits by the gate's bound on unstored records (each
   * holds at least one), one maintenance round (the shell skips a round while one is out), one close.
   */
  readonly #waiting = new Map<number, Waiting>();
  /** Time the thread spent per commit (ms), a ring. BOUNDED: STORE_SAMPLES_MAX. */
  readonly storeSamplesMs: number[] = [];

  /** `script`: the worker's file (tests running TypeScript sources pass the built one). */
  constructor(spec: JournalWriterSpec, script: URL = JOURNAL_THREAD_SCRIPT) {
    this.#spec = spec;
    this.#script = script;
  }

  /** Requests not answered yet (tests, and the shell's skip of a maintenance round). */
  get waitingCount(): number {
    return this.#waiting.size;
  }

  commit(records: readonly JournalRecord[], done: (failure: JournalWriteFailure | undefined) => void): void {
    this.#send(
      { id: 0, op: "commit", recordsJson: JSON.stringify(records) },
      (reply) => {
        if (reply.op !== "commit") return done({ code: "io", message: "unexpected reply" });
        if (this.storeSamplesMs.length >= STORE_SAMPLES_MAX) this.storeSamplesMs.splice(0, STORE_SAMPLES_MAX / 2);
        this.storeSamplesMs.push(reply.storeMs);
        done(reply.failure);
      },
      (why) => done({ code: "io", message: why }),
    );
  }

  maintain(beforeWallMs: number, finalsMax: number, done: (result: JournalMaintenance) => void): void {
    this.#send(
      { id: 0, op: "maintain", beforeWallMs, finalsMax },
      (reply) => done(reply.op === "maintain" ? reply.result : { error: "unexpected reply" }),
      (why) => done({ error: why }),
    );
  }

  /** Ends the thread after what was sent; a thread that does not end within THREAD_CLOSE_WAIT_MS is terminated. */
  close(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => void worker.terminate(), THREAD_CLOSE_WAIT_MS);
      timer.unref();
      worker.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      this.#send(
        { id: 0, op: "close" },
        () => {},
        () => {},
      );
    });
  }

  #send(request: ThreadRequest, onReply: Waiting["onReply"], onLost: Waiting["onLost"]): void {
    const worker = this.#worker ?? this.#spawn();
    const id = this.#nextId;
    this.#nextId += 1;
    this.#waiting.set(id, { onReply, onLost });
    worker.postMessage({ ...request, id });
  }

  #spawn(): Worker {
    const worker = new Worker(this.#script, { workerData: this.#spec });
    // Never what keeps the process alive: a stop waits for close() itself.
    worker.unref();
    worker.on("message", (reply: ThreadReply) => {
      const waiting = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      waiting?.onReply(reply);
    });
    worker.on("error", (error) => {
      this.#lastError = error.message;
    });
    worker.on("exit", (code) => {
      if (this.#worker === worker) this.#worker = undefined;
      const why = `the journal writer thread ended (exit code ${code}${this.#lastError === "" ? "" : `: ${this.#lastError}`})`;
      const lost = [...this.#waiting.values()];
      this.#waiting.clear();
      for (const waiting of lost) waiting.onLost(why);
    });
    this.#worker = worker;
    return worker;
  }
}

/** The writer thread for `store` (a store that names no writer engine cannot commit off the thread). */
export function threadWriterOf(store: JournalStore): ThreadJournalWriter {
  const spec = store.writerSpec?.();
  if (spec === undefined) throw new Error("this journal store cannot be written from a writer thread");
  return new ThreadJournalWriter(spec);
}
