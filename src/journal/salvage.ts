/**
 * Recovery of a journal SQLite reports as damaged (a torn or overwritten page): read every row that
 * can still be read, scanning forwards until the damage and backwards from the end until it, move the
 * damaged file aside (it is ours: its application id was checked) and let the store write the rows
 * that were saved into a fresh file. Never throws on damage: what could not be read is reported.
 */
import { existsSync, renameSync } from "node:fs";

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
