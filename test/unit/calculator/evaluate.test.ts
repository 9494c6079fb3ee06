/**
 * Goal: the task function is exactly SPEC 4: h0 = input, h(i+1) = sha256hex(h(i)) over the UTF-8 bytes
 * of the string, result = h(rounds), lowercase hex; the sliced evaluation equals the plain one.
 * Method: known vectors, and expected values computed independently here with node:crypto on
 * explicit UTF-8 bytes; the sliced path is compared with the plain one across slice boundaries.
 */
import { createHash } from "node:crypto";

import { describe, expect, it } from "vitest";

import { evaluateTask, evaluateTaskSliced, ROUNDS_PER_SLICE, sha256Steps } from "../../../src/calculator/evaluate.js";

/** sha256 of the UTF-8 bytes of `text`, lowercase hex (independent of the code under test). */
function sha256hex(text: string): string {
  return createHash("sha256").update(Buffer.from(text, "utf8")).digest("hex");
}

function chain(input: string, rounds: number): string {
  let digest = input;
  for (let i = 0; i < rounds; i += 1) digest = sha256hex(digest);
  return digest;
}

describe("evaluateTask", () => {
  it("rounds 1 of 'abc' is the FIPS 180-2 vector sha256('abc')", () => {
    expect(evaluateTask("abc", 1)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(evaluateTask("abc", 1)).toBe(sha256hex("abc"));
  });

  it("rounds 1 of the empty string is sha256('')", () => {
    expect(evaluateTask("", 1)).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("rounds 3 hashes the hex string of the previous round each time", () => {
    const h1 = sha256hex("abc");
    const h2 = sha256hex(h1);
    const h3 = sha256hex(h2);
    expect(evaluateTask("abc", 3)).toBe(h3);
    expect(evaluateTask("abc", 2)).toBe(h2);
    // Hashing the raw digest bytes instead of the hex text would give a different answer.
    expect(h2).not.toBe(createHash("sha256").update(Buffer.from(h1, "hex")).digest("hex"));
  });

  it("hashes the UTF-8 bytes of non-ASCII input", () => {
    expect(evaluateTask("héllo ✓ 日本", 1)).toBe(sha256hex("héllo ✓ 日本"));
    expect(evaluateTask("é", 1)).toBe(
      createHash("sha256")
        .update(Buffer.from([0xc3, 0xa9]))
        .digest("hex"),
    );
    expect(evaluateTask("é", 1)).not.toBe(
      createHash("sha256")
        .update(Buffer.from([0xe9]))
        .digest("hex"),
    );
  });

  it("gives 64 lowercase hex characters and matches the chain for many rounds", () => {
    expect(evaluateTask("task-input", 1_000)).toBe(chain("task-input", 1_000));
    expect(evaluateTask("task-input", 1_000)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("sha256Steps with 0 rounds returns the start unchanged and rejects bad rounds", () => {
    expect(sha256Steps("abc", 0)).toBe("abc");
    expect(() => sha256Steps("abc", -1)).toThrow();
    expect(() => sha256Steps("abc", 1.5)).toThrow();
  });
});

describe("evaluateTaskSliced", () => {
  it.each([1, 3, ROUNDS_PER_SLICE - 1, ROUNDS_PER_SLICE, ROUNDS_PER_SLICE + 1, 2 * ROUNDS_PER_SLICE + 7])(
    "equals the plain evaluation for rounds %i",
    async (rounds) => {
      expect(await evaluateTaskSliced("slice-me", rounds)).toBe(evaluateTask("slice-me", rounds));
    },
  );

  it("equals the independent chain across slice boundaries", async () => {
    const rounds = ROUNDS_PER_SLICE + 3;
    expect(await evaluateTaskSliced("abc", rounds)).toBe(chain("abc", rounds));
  });
});
