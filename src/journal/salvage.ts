/**
 * Recovery of a journal SQLite reports as damaged (a torn or overwritten page): read every row that
 * can still be read, scanning forwards until the damage and backwards from the end until it, move the
 * damaged file aside (it is ours: its application id was checked) and let the store write the rows
 * that were saved into a fresh file. Never throws on damage: what could not be read is reported.
 */
import { closeSync, existsSync, openSync, readSync, renameSync, statSync } from "node:fs";

import type Database from "libsql";

import type { StoredRow } from "./sqlite-store.js";

/** Rows read from a damaged journal, and notes for the operator. */
export interface Salvage {
  readonly rows: StoredRow[];
  readonly notes: string[];
}

function readUntilError(db: Database.Database, sql: string, into: Map<string, StoredRow>): string | undefined {
  try {
    for (const row of db.prepare(sql).iterate() as IterableIterator<StoredRow>) into.set(row.task_id, row);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Reads what it can from `db`, closes it and renames the file (and its WAL) to `<path>.damaged-N`. */
export function salvageRows(db: Database.Database, path: string, finding: string): Salvage {
  const saved = new Map<string, StoredRow>();
  const forward = readUntilError(db, "SELECT * FROM records ORDER BY rowid", saved);
  const backward = readUntilError(db, "SELECT * FROM records ORDER BY rowid DESC", saved);
  try {
    db.close();
  } catch {
    // Closing a damaged file may fail; the rename below does not need it closed.
  }
  let n = 1;
  while (existsSync(`${path}.damaged-${n}`)) n += 1;
  const aside = `${path}.damaged-${n}`;
  renameSync(path, aside);
  for (const suffix of ["-wal", "-shm"])
    if (existsSync(`${path}${suffix}`)) renameSync(`${path}${suffix}`, `${aside}${suffix}`);
  const notes = [
    `SQLite found damage (${finding}); ${saved.size} record(s) saved into a fresh journal, the damaged file kept as ${aside}`,
  ];
  if (forward !== undefined || backward !== undefined) notes.push(`unreadable part skipped: ${forward ?? backward}`);
  return { rows: [...saved.values()], notes };
}

/** The magic numbers a write-ahead log starts with (big-endian; the low bit names the checksum order). */
const WAL_MAGICS = new Set([0x377f0682, 0x377f0683]);
const WAL_HEADER_BYTES = 32;
const WAL_FRAME_HEADER_BYTES = 24;

/**
 * Looks at `<path>-wal` before SQLite opens it: a log whose length is not its header plus whole frames
 * ends in a write that was cut off (a crash or power loss mid-commit; such a commit was never
 * acknowledged). SQLite ignores that tail on open; this says that it did. Undefined when the log is
 * absent, empty or whole. Never throws.
 */
export function tornLogTail(path: string): string | undefined {
  const wal = `${path}-wal`;
  try {
    if (!existsSync(wal)) return undefined;
    const sizeBytes = statSync(wal).size;
    if (sizeBytes === 0) return undefined;
    const head = Buffer.alloc(WAL_HEADER_BYTES);
    const fd = openSync(wal, "r");
    const read = readSync(fd, head, 0, WAL_HEADER_BYTES, 0);
    closeSync(fd);
    const pageBytes = read === WAL_HEADER_BYTES ? head.readUInt32BE(8) : 0;
    if (read < WAL_HEADER_BYTES || !WAL_MAGICS.has(head.readUInt32BE(0)) || pageBytes < 512) {
      return `write-ahead log ${wal} has a torn or unreadable header (${sizeBytes} bytes): ignored, the journal is as of its last checkpoint`;
    }
    const tornBytes = (sizeBytes - WAL_HEADER_BYTES) % (WAL_FRAME_HEADER_BYTES + pageBytes);
    if (tornBytes === 0) return undefined;
    return `write-ahead log ${wal} ends in a torn write (${tornBytes} bytes after the last whole frame): ignored, the journal is as of its last complete commit`;
  } catch (error) {
    return `write-ahead log ${wal} could not be inspected (${(error as Error).message})`;
  }
}
