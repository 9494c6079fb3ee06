/**
 * Goal: the layering of DESIGN.md 4.1/4.2 holds as the code grows: pure modules (every core.ts,
 * overlay/echo.ts, overlay/finn.ts, protocol/) never read time, schedule timers, draw randomness or
 * do I/O; only transport/udp-transport.ts imports node:dgram; and no source file passes the 500-line
 * ceiling. This repeats the Biome override with regexes that also catch Math.random( and
 * performance.now(.
 * Method: walk src/ with readdirSync (files that do not exist yet are simply not checked), strip
 * comments, and match forbidden patterns. A self-test proves the scanner flags each pattern.
 */
import { readdirSync, readFileSync } from "node:fs";
import { relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SRC = `${ROOT}src`;

/** Hard ceiling from DESIGN.md 4.2 rule 9. */
const FILE_LINES_MAX = 500;

/** Every file under src/, as repo-relative paths with forward slashes. */
function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, `${entry.parentPath}${sep}${entry.name}`).split(sep).join("/"))
    .sort();
}

function isPure(path: string): boolean {
  return (
    /^src\/.*\/?core\.ts$/.test(path) ||
    path === "src/overlay/echo.ts" ||
    path === "src/overlay/finn.ts" ||
    path.startsWith("src/protocol/") ||
    path.startsWith("src/placement/") ||
    path === "src/dispatcher/estimates.ts" ||
    path === "src/dispatcher/status.ts"
  );
}

/** Removes block and line comments (not `//` inside strings such as URLs after a colon or quote). */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/** A module specifier in an import, export-from, dynamic import or require. */
function importsModule(code: string, names: RegExp): boolean {
  const specifier = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g;
  for (const match of code.matchAll(specifier)) {
    if (names.test(match[1] ?? "")) return true;
  }
  return false;
}

const FORBIDDEN_CALLS: readonly [string, RegExp][] = [
  ["Date.now(", /\bDate\s*\.\s*now\s*\(/],
  ["new Date(", /\bnew\s+Date\s*\(/],
  ["setTimeout(", /\bsetTimeout\s*\(/],
  ["setInterval(", /\bsetInterval\s*\(/],
  ["Math.random(", /\bMath\s*\.\s*random\s*\(/],
  ["performance.now(", /\bperformance\s*\.\s*now\s*\(/],
];

const FORBIDDEN_IMPORTS: readonly [string, RegExp][] = [
  ["node:dgram", /^(node:)?dgram$/],
  ["pino", /^pino(\/.*)?$/],
  ["node:fs", /^(node:)?fs(\/.*)?$/],
  ["node:net", /^(node:)?net$/],
];

/** What a pure module must not contain, as readable names (empty when clean). */
function purityViolations(source: string): string[] {
  const code = stripComments(source);
  return [
    ...FORBIDDEN_CALLS.filter(([, pattern]) => pattern.test(code)).map(([name]) => name),
    ...FORBIDDEN_IMPORTS.filter(([, pattern]) => importsModule(code, pattern)).map(([name]) => `import ${name}`),
  ];
}

const files = sourceFiles();
/** Modules (TypeScript or JavaScript) whose imports and calls are checked. */
const modules = files.filter((path) => /\.[cm]?[jt]s$/.test(path));
const read = (path: string): string => readFileSync(`${ROOT}${path}`, "utf8");

describe("architecture", () => {
  it("finds the source tree", () => {
    expect(files).toContain("src/protocol/codec.ts");
    expect(files).toContain("src/transport/udp-transport.ts");
  });

  it("keeps pure modules free of time, timers, randomness and I/O", () => {
    const violations = modules
      .filter(isPure)
      .flatMap((path) => purityViolations(read(path)).map((violation) => `${path}: ${violation}`));
    expect(violations, "pure modules take nowMs/Rng/Transport as inputs instead (DESIGN.md 4.2)").toEqual([]);
  });

  it("imports node:dgram only in src/transport/udp-transport.ts", () => {
    const importers = modules.filter((path) => importsModule(stripComments(read(path)), /^(node:)?dgram$/));
    expect(importers).toEqual(["src/transport/udp-transport.ts"]);
  });

  it(`keeps every source file at or under ${FILE_LINES_MAX} lines`, () => {
    const tooLong = files
      .map((path) => ({ path, lines: read(path).split("\n").length }))
      .filter(({ lines }) => lines > FILE_LINES_MAX)
      .map(({ path, lines }) => `${path}: ${lines} lines`);
    expect(tooLong, "split the file (DESIGN.md 4.2 rule 9)").toEqual([]);
  });
});

describe("architecture scanner (self-test)", () => {
  it("classifies pure paths", () => {
    expect(isPure("src/dispatcher/core.ts")).toBe(true);
    expect(isPure("src/overlay/echo.ts")).toBe(true);
    expect(isPure("src/overlay/finn.ts")).toBe(true);
    expect(isPure("src/protocol/sub/x.ts")).toBe(true);
    expect(isPure("src/dispatcher/daemon.ts")).toBe(false);
    expect(isPure("src/runtime/clock.ts")).toBe(false);
  });

  it.each([
    ["const t = Date.now();", "Date.now("],
    ["const d = new Date();", "new Date("],
    ["setTimeout(() => 0, 5);", "setTimeout("],
    ["const h = setInterval(tick, 5);", "setInterval("],
    ["const r = Math.random();", "Math.random("],
    ["const t = performance.now();", "performance.now("],
    ['import { createSocket } from "node:dgram";', "import node:dgram"],
    ['import dgram from "dgram";', "import node:dgram"],
    ['import pino from "pino";', "import pino"],
    ['import { readFileSync } from "node:fs";', "import node:fs"],
    ['import { readFile } from "node:fs/promises";', "import node:fs"],
    ['const net = await import("node:net");', "import node:net"],
    ['export { isIP } from "node:net";', "import node:net"],
  ])("flags %s", (source, violation) => {
    expect(purityViolations(source)).toContain(violation);
  });

  it("ignores comments, lookalike names and URLs in strings", () => {
    const source = [
      "/** Never calls Date.now() or setTimeout(); see https://example.org/a//b. */",
      "// Math.random() is banned here",
      'const url = "https://example.org/x"; // performance.now()',
      "const nowMs = input.nowMs; const x = mySetTimeout(1); const y = notDate.now;",
      'import { thing } from "./pino-like.js";',
    ].join("\n");
    expect(purityViolations(source)).toEqual([]);
  });
});
