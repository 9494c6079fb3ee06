/**
 * The journal's writes on SQLite: commits (one hand-written transaction per batch), expiry of old
 * answers and WAL checkpoints, on one connection. The store uses it on its own connection (start,
 * tests); the dispatcher's writer thread (journal-thread.ts) opens a second connection through
 * {@link openJournalWriter}, so the fsync of a commit never blocks the dispatcher's thread.
 */
import { crc32 } from "node:zlib";

import Database from "libsql";

import type { JournalRecord, JournalWriteFailure, JournalWriter } from "./journal-store.js";
import type { SqliteStoreOptions } from "./sqlite-store.js";

/** CRC-32 of a record bound to its task id, so a record moved to another row fails too. */
export function recordCrc(taskId: string, text: string): number {
  return crc32(`${taskId}\n${text}`);
}

/**
 * The settings every connection that writes must have (they are per connection): WAL, the
 * synchronous level asked for (never the build's default), no automatic checkpoints, the size cap.
 */
export function setWritePragmas(db: Database.Database, options: SqliteStoreOptions): void {
  const pragma = (sql: string): unknown => Object.values((db.prepare(`PRAGMA ${sql}`).get() ?? {}) as object)[0];
  pragma("journal_mode = WAL");
  pragma(`synchronous = ${options.sync.toUpperCase()}`);
  pragma("wal_autocheckpoint = 0");
  pragma(`journal_size_limit = ${4 * 1024 * 1024}`);
  const pageBytes = Number(pragma("page_size"));
  pragma(`max_page_count = ${Math.max(16, Math.floor(options.maxBytes / pageBytes))}`);
}

/**
 * BEGIN IMMEDIATE ... COMMIT by hand: libsql's transaction() wrapper hides SQLITE_FULL behind the
 * error of its own ROLLBACK (SQLite has already rolled the transaction back by then).
 */
export function inTransaction(db: Database.Database, body: () => void): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    body();
    db.exec("COMMIT");
  } catch (error) {
    try {
      db.exec("ROLLBACK");
    } catch {
      // Already rolled back by SQLite (full disk, I/O error): the original error is what matters.
    }
    throw error;
  }
}

/** Answers written by one statement, at most (4 parameters each: well under SQLite's 32 766). */
const FINALS_PER_STATEMENT = 32;

/** Commits, expiry and checkpoints on one connection: the store's own, or the writer thread's. */
export class SqliteJournalWriter implements JournalWriter {
  readonly #db: Database.Database;
  readonly #putTask: Database.Statement;
  /** Upserts of 1..FINALS_PER_STATEMENT answers, by row count. BOUNDED: FINALS_PER_STATEMENT statements. */
  readonly #putFinals = new Map<number, Database.Statement>();

  constructor(db: Database.Database) {
    this.#db = db;
    this.#putTask = db.prepare(
      "INSERT INTO records (task_id, task, task_crc) VALUES (?, ?, ?) ON CONFLICT(task_id) DO UPDATE SET task = excluded.task, task_crc = excluded.task_crc",
    );
  }

  /** One statement for `rows` answers: a batch's answers cost a few native calls, not one each. */
  #putFinalsOf(rows: number): Database.Statement {
    let statement = this.#putFinals.get(rows);
    if (statement === undefined) {
      const values = Array.from({ length: rows }, () => "(?, ?, ?, ?)").join(", ");
      statement = this.#db.prepare(
        `INSERT INTO records (task_id, final, final_crc, answered_ms) VALUES ${values} ON CONFLICT(task_id) DO UPDATE SET final = excluded.final, final_crc = excluded.final_crc, answered_ms = excluded.answered_ms`,
      );
      this.#putFinals.set(rows, statement);
    }
    return statement;
  }

  commit(records: readonly JournalRecord[]): JournalWriteFailure | undefined {
    try {
      inTransaction(this.#db, () => {
        // A task's record and its answer fill different columns of its row: their order does not matter.
        let finals: (string | number)[] = [];
        for (const record of records) {
          if (record.kind === "task") {
            const text = JSON.stringify(record.task);
            this.#putTask.run(record.task.taskId, text, recordCrc(record.task.taskId, text));
            continue;
          }
          const { taskId, packetJson, answeredWallMs } = record.final;
          finals.push(taskId, packetJson, recordCrc(taskId, packetJson), answeredWallMs);
          if (finals.length === 4 * FINALS_PER_STATEMENT) {
            this.#putFinalsOf(FINALS_PER_STATEMENT).run(finals);
            finals = [];
          }
        }
        if (finals.length > 0) this.#putFinalsOf(finals.length / 4).run(finals);
      });
      return undefined;
    } catch (error) {
      const code = (error as { code?: string }).code === "SQLITE_FULL" ? "full" : "io";
      return { code, message: (error as Error).message };
    }
  }

  expire(beforeWallMs: number, finalsMax: number): number {
    const old = this.#db
      .prepare("DELETE FROM records WHERE answered_ms IS NOT NULL AND answered_ms < ?")
      .run(beforeWallMs);
    const extra = this.#db
      .prepare(
        "DELETE FROM records WHERE task_id IN (SELECT task_id FROM records WHERE answered_ms IS NOT NULL ORDER BY answered_ms DESC LIMIT -1 OFFSET ?)",
      )
      .run(finalsMax);
    return old.changes + extra.changes;
  }

  /**
   * RESTART, not TRUNCATE: the log is copied into the file and the next commit writes it again from
   * its start, over blocks the file already has, so a commit's fsync need not also persist a file that
   * grew (measured here: commit p50 about 2 ms instead of 3, mean 2.5-3.7 instead of 4.2-5.7, under
   * load). The log stays at most journal_size_limit (4 MiB) or one period's commits.
   */
  checkpoint(): void {
    this.#db.prepare("PRAGMA wal_checkpoint(RESTART)").all();
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

/**
 * The writer thread's entry (JournalWriterSpec): a second connection to a journal the store has
 * already checked, loaded and repaired, so no ownership or damage checks here.
 */
export function openJournalWriter(options: SqliteStoreOptions): JournalWriter {
  const db = new Database(options.path);
  setWritePragmas(db, options);
  return new SqliteJournalWriter(db);
}
