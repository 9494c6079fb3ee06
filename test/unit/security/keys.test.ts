/**
 * Goal: the key file is checked as SPEC section 10 says: a missing, unreadable, group- or
 * world-readable, malformed file, or a secret under 32 bytes, is refused with a message naming the
 * file and the problem; a good file loads its keys and active id.
 * Method: real files in a temp dir with chmod; parse errors as plain values.
 */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { loadKeyFile } from "../../../src/security/key-file.js";
import { parseKeyring } from "../../../src/security/keyring.js";

const secret32 = Buffer.alloc(32, 7).toString("base64");
const secret31 = Buffer.alloc(31, 7).toString("base64");

function keyFile(text: string, mode = 0o600): string {
  const path = join(mkdtempSync(join(tmpdir(), "keys-")), "keys.json");
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

describe("parseKeyring", () => {
  it("loads keys and the active id", () => {
    const parsed = parseKeyring(JSON.stringify({ keys: { k1: secret32, k2: secret32 }, active: "k2" }));
    expect(parsed.ok && parsed.keyring.activeId).toBe("k2");
    expect(parsed.ok && [...parsed.keyring.keys.keys()]).toEqual(["k1", "k2"]);
  });

  it.each([
    ["not json", "{", /not valid JSON/],
    ["an array", "[]", /JSON object/],
    ["no keys", JSON.stringify({ keys: {}, active: "a" }), /empty/],
    ["active missing", JSON.stringify({ keys: { a: secret32 }, active: "b" }), /"b", which is not in "keys"/],
    ["short secret", JSON.stringify({ keys: { a: secret31 }, active: "a" }), /31 bytes; it must be at least 32/],
    ["not base64", JSON.stringify({ keys: { a: "!!!!" }, active: "a" }), /base64/],
    ["bad key id", JSON.stringify({ keys: { "a b": secret32 }, active: "a b" }), /key id/],
    ["extra field", JSON.stringify({ keys: { a: secret32 }, active: "a", x: 1 }), /unknown field "x"/],
  ])("refuses %s", (_name, text, problem) => {
    const parsed = parseKeyring(text);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? "" : parsed.problem).toMatch(problem);
  });
});

describe("loadKeyFile", () => {
  const good = JSON.stringify({ keys: { a: secret32 }, active: "a" });

  it("loads an owner-only file", () => {
    expect(loadKeyFile(keyFile(good)).activeId).toBe("a");
  });

  it.each([
    ["group-readable", 0o640, /readable or writable by group or others \(mode 640\)/],
    ["world-readable", 0o604, /mode 604/],
  ])("refuses a %s file, naming it", (_name, mode, problem) => {
    const path = keyFile(good, mode);
    expect(() => loadKeyFile(path)).toThrow(problem);
    expect(() => loadKeyFile(path)).toThrow(path);
  });

  it("refuses a missing file, naming it", () => {
    expect(() => loadKeyFile("/nonexistent/keys.json")).toThrow(/Key file \/nonexistent\/keys.json: it does not exist/);
  });

  it.skipIf(process.getuid?.() === 0)("refuses an unreadable file", () => {
    const path = keyFile(good, 0o200);
    expect(() => loadKeyFile(path)).toThrow(/cannot be read \(permission denied\)/);
  });

  it("refuses a malformed file and a short secret, naming the file", () => {
    const path = keyFile("not json");
    expect(() => loadKeyFile(path)).toThrow(new RegExp(`Key file ${path}: it is not valid JSON`));
    expect(() => loadKeyFile(keyFile(JSON.stringify({ keys: { a: secret31 }, active: "a" })))).toThrow(/31 bytes/);
  });
});
