/**
 * Goal: the loaders' shared file read never throws and names the reason in words.
 * Method: a real temporary file, a missing path and a directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { readTextFile } from "../../../src/runtime/read-text-file.js";

const dir = mkdtempSync(join(tmpdir(), "read-text-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("readTextFile", () => {
  it("returns the text of a readable file", () => {
    const path = join(dir, "a.json");
    writeFileSync(path, '{"x": 1}');
    expect(readTextFile(path)).toEqual({ ok: true, text: '{"x": 1}' });
  });

  it("says 'no such file' for a missing path", () => {
    expect(readTextFile(join(dir, "missing.json"))).toMatchObject({ ok: false, why: "no such file" });
  });

  it("says 'it is a directory' for a directory", () => {
    expect(readTextFile(dir)).toMatchObject({ ok: false, why: "it is a directory" });
  });
});
