/**
 * The journal on SQLite (through `libsql`, whose binary ships inside npm packages): one row per task
 * id holding the accepted task and, once given, its final answer, each with a CRC-32 of its own so a
 * damaged record is skipped instead of trusted. WAL mode; the synchronous level is set on every open
 * (`full`: each commit is fsynced, survives power loss; `normal`: survives a process crash, may lose
 * the last commits on power loss; `off`: tests only). Automatic checkpoints are off: the shell calls
 * checkpoint() on a timer so no commit pays for one. Never opens a file it does not own: a path that
 * is not SQLite, or SQLite of another program or journal version, is refused (JournalOpenError).
 */
import { accessSync, closeSync, constants, existsSync, openSync, readSync, statSync } from "node:fs";
import { dirname } from "node:path";

import Database from "libsql";

import type {
  JournalContents,
  JournaledFinal,
  JournaledTask,
  JournalRecord,
  JournalStore,
  JournalWriteFailure,
  JournalWriterSpec,
} from "./journal-store.js";
import { salvageRows, tornLogTail } from "./salvage.js";
import { inTransaction, recordCrc, SqliteJournalWriter, setWritePragmas } from "./sqlite-writer.js";

export { openJournalWriter, recordCrc } from "./sqlite-writer.js";

/** `PRAGMA application_id` of a udp-cluster journal ("udpj"). */
export const JOURNAL_APPLICATION_ID = 0x7564706a;
/** Bumped when the table layout changes; a journal of another version is refused, never rewritten. */
export const JOURNAL_FORMAT_VERSION = 1;
const SQLITE_MAGIC = "SQLite format 3\0";

/** How hard a commit waits for the disk (see the file comment and docs/JOURNAL.md). */
export type JournalSyncPolicy = "full" | "normal" | "off";

/** Settings of a {@link SqliteJournalStore}. */
export interface SqliteStoreOptions {
  readonly path: string;
  readonly sync: JournalSyncPolicy;
  /** Largest journal file (bytes); beyond it commits fail with `full` (SQLite max_page_count). */
  readonly maxBytes: number;
}

/** Why a journal could not be opened; the CLI turns it into exit 2 naming the path. */
export class JournalOpenError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/** A stored row as SQLite returns it. */
export interface StoredRow {
  readonly task_id: string;
  readonly task: string | null;
  readonly task_crc: number | null;
  readonly final: string | null;
  readonly final_crc: number | null;
  readonly answered_ms: number | null;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS records (
    task_id TEXT PRIMARY KEY, task TEXT, task_crc INTEGER, final TEXT, final_crc INTEGER, answered_ms INTEGER);
  CREATE INDEX IF NOT EXISTS records_answered ON records(answered_ms) WHERE answered_ms IS NOT NULL;
  CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, wall_ms INTEGER);`;

/** The first column of a row (libsql adds a `_metadata` key after the columns; `pluck` is not supported). */
function firstColumn(row: unknown): unknown {
  if (row === undefined || row === null) return undefined;
  const values = Object.values(row as Record<string, unknown>);
  return values[0];
}

/** Checks that `path` is absent or a journal of ours; throws JournalOpenError naming it otherwise. */
function checkOwnership(path: string): boolean {
  if (!existsSync(path)) {
    try {
      accessSync(dirname(path), constants.W_OK);
    } catch (cause) {
      throw new JournalOpenError(
        `Journal ${path}: its directory ${dirname(path)} does not exist or is not writable (${(cause as Error).message}). Create it or set journal.path elsewhere.`,
        { cause },
      );
    }
    return false;
  }
  if (!statSync(path).isFile())
    throw new JournalOpenError(`Journal ${path} exists and is not a file; refusing to use it.`);
  const head = Buffer.alloc(16);
  const fd = openSync(path, "r");
  const read = readSync(fd, head, 0, 16, 0);
  closeSync(fd);
  if (read < 16 || head.toString("latin1") !== SQLITE_MAGIC) {
    throw new JournalOpenError(
      `Journal ${path} exists and is not a udp-cluster journal (not an SQLite file); refusing to touch it. Move it away or set journal.path to another file.`,
    );
  }
  return true;
}

/** SQLite through libsql; see the file comment. */
export class SqliteJournalStore implements JournalStore {
  readonly #path: string;
  #db: Database.Database;
  readonly #options: SqliteStoreOptions;
  #salvaged: { rows: StoredRow[]; notes: string[] } | undefined;
  /** A torn tail found in the write-ahead log before SQLite opened it (reported by load()). */
  readonly #tornTail: string | undefined;
  #ownWriter: SqliteJournalWriter | undefined;

  constructor(options: SqliteStoreOptions) {
    this.#options = options;
    this.#path = options.path;
    const existed = checkOwnership(options.path);
    this.#tornTail = existed ? tornLogTail(options.path) : undefined;
    this.#db = this.#open(existed);
    const damage = this.#quickCheck();
    if (damage !== undefined) {
      const salvage = salvageRows(this.#db, this.#path, damage);
      this.#db = this.#open(false);
      this.#salvaged = salvage;
      this.#rewrite(salvage.rows);
    }
    this.#probeWrite();
  }

  #open(existed: boolean): Database.Database {
    let db: Database.Database;
    try {
      db = new Database(this.#path);
    } catch (cause) {
      throw new JournalOpenError(`Journal ${this.#path} cannot be opened: ${(cause as Error).message}.`, { cause });
    }
    const pragma = (sql: string): unknown => firstColumn(db.prepare(`PRAGMA ${sql}`).get());
    try {
      if (existed) {
        const applicationId = pragma("application_id");
        const version = pragma("user_version");
        if (applicationId !== JOURNAL_APPLICATION_ID) {
          db.close();
          throw new JournalOpenError(
            `Journal ${this.#path} is an SQLite database of another program (application_id ${String(applicationId)}); refusing to touch it. Set journal.path to another file.`,
          );
        }
        if (version !== JOURNAL_FORMAT_VERSION) {
          db.close();
          throw new JournalOpenError(
            `Journal ${this.#path} has format version ${String(version)}; this build reads version ${JOURNAL_FORMAT_VERSION} and will not rewrite it. Move it away or set journal.path to another file.`,
          );
        }
      }
      setWritePragmas(db, this.#options);
      if (!existed) {
        db.exec(SCHEMA);
        pragma(`application_id = ${JOURNAL_APPLICATION_ID}`);
        pragma(`user_version = ${JOURNAL_FORMAT_VERSION}`);
        // Into the main file at once: a torn log must never take the file's identity with it.
        pragma("wal_checkpoint(TRUNCATE)");
      }
    } catch (cause) {
      if ((cause as Error).name === "ConfigError") throw cause;
      throw new JournalOpenError(`Journal ${this.#path} cannot be used: ${(cause as Error).message}.`, { cause });
    }
    return db;
  }

  /** Undefined when SQLite finds the file sound; else what it found. */
  #quickCheck(): string | undefined {
    try {
      const rows = this.#db.prepare("PRAGMA quick_check").all().map(firstColumn);
      return rows.length === 1 && rows[0] === "ok" ? undefined : rows.slice(0, 3).join("; ");
    } catch (cause) {
      return (cause as Error).message;
    }
  }

  /** A small committed write at start: an unwritable file or a full disk fails here, before any work. */
  #probeWrite(): void {
    try {
      this.#db.prepare("INSERT OR REPLACE INTO probe (id, wall_ms) VALUES (1, ?)").run(0);
    } catch (cause) {
      throw new JournalOpenError(
        `Journal ${this.#path} is not writable (${(cause as Error).message}); free disk space or fix its permissions.`,
        { cause },
      );
    }
  }

  #rewrite(rows: readonly StoredRow[]): void {
    const insert = this.#db.prepare(
      "INSERT OR REPLACE INTO records (task_id, task, task_crc, final, final_crc, answered_ms) VALUES (?, ?, ?, ?, ?, ?)",
    );
    inTransaction(this.#db, () => {
      for (const r of rows) insert.run(r.task_id, r.task, r.task_crc, r.final, r.final_crc, r.answered_ms);
    });
  }

  load(): JournalContents {
    const unfinished: JournaledTask[] = [];
    const finals: JournaledFinal[] = [];
    const damage = [...(this.#tornTail === undefined ? [] : [this.#tornTail]), ...(this.#salvaged?.notes ?? [])];
    /** Rows whose task record failed its checksum (dropped) and whose answer did (answer dropped). */
    const bad: string[] = [];
    const badFinals: string[] = [];
    const rows = this.#db.prepare("SELECT * FROM records ORDER BY rowid").all() as StoredRow[];
    for (const row of rows) {
      const isFinalSound = row.final !== null && row.final_crc === recordCrc(row.task_id, row.final);
      const isTaskSound = row.task !== null && row.task_crc === recordCrc(row.task_id, row.task);
      if (isFinalSound && row.final !== null) {
        finals.push({ taskId: row.task_id, packetJson: row.final, answeredWallMs: row.answered_ms ?? 0 });
      } else if (isTaskSound && row.task !== null) {
        unfinished.push(JSON.parse(row.task) as JournaledTask);
        if (row.final !== null) badFinals.push(row.task_id);
      } else {
        bad.push(row.task_id);
      }
    }
    const skippedCount = bad.length + badFinals.length;
    if (skippedCount > 0) {
      damage.push(
        `${skippedCount} record(s) failed their checksum and were skipped (first: ${bad[0] ?? badFinals[0]})`,
      );
      const drop = this.#db.prepare("DELETE FROM records WHERE task_id = ?");
      const clear = this.#db.prepare(
        "UPDATE records SET final = NULL, final_crc = NULL, answered_ms = NULL WHERE task_id = ?",
      );
      inTransaction(this.#db, () => {
        for (const taskId of bad) drop.run(taskId);
        for (const taskId of badFinals) clear.run(taskId);
      });
    }
    finals.sort((a, b) => a.answeredWallMs - b.answeredWallMs);
    unfinished.sort((a, b) => a.arrivedWallMs - b.arrivedWallMs);
    return { unfinished, finals, skippedCount, damage };
  }

  commit(records: readonly JournalRecord[]): JournalWriteFailure | undefined {
    return this.#writer().commit(records);
  }

  expire(beforeWallMs: number, finalsMax: number): number {
    return this.#writer().expire(beforeWallMs, finalsMax);
  }

  checkpoint(): void {
    this.#writer().checkpoint();
  }

  /** The store's own connection as a writer (prepared once, after any salvage replaced the connection). */
  #writer(): SqliteJournalWriter {
    this.#ownWriter ??= new SqliteJournalWriter(this.#db);
    return this.#ownWriter;
  }

  writerSpec(): JournalWriterSpec {
    return { moduleUrl: import.meta.url, options: this.#options };
  }

  sizeBytes(): number {
    const size = (path: string): number => (existsSync(path) ? statSync(path).size : 0);
    return size(this.#path) + size(`${this.#path}-wal`);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
