/**
 * A fast, copy-free acceptance check for values the zod schemas define. zod stays the only definition
 * of the wire: each schema's JSON Schema is generated from it (as net-protocol/ is) and compiled with
 * ajv on first use. `conformsTo` only answers yes or no and leaves the value as it is, where zod's
 * parse builds a new object with a result record per field: measured 4-5 µs and about 1 KB of
 * garbage per packet against 0.5 µs and none, on every hop of every task.
 *
 * The codec uses it as a fast path, never as the judge: a value this check refuses goes to zod, whose
 * verdict and message stand. A check stricter than zod therefore costs time, never correctness; one
 * more lenient would be a bug, and test/unit/protocol/conforms.test.ts asserts that the two agree on
 * every golden packet and on many mutations of them.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import * as z from "zod";

/**
 * One compiler for every check. String lengths count code points, as zod 4 does (both take 129 emoji,
 * 258 UTF-16 units, as within a 256 limit), and `unicodeRegExp: false` compiles patterns exactly as
 * zod's own RegExps. Formats (`uuid`) are not checked by name because zod also emits each one as a
 * `pattern`, which is checked.
 */
const ajv = new Ajv2020({
  strict: true,
  allErrors: false,
  validateSchema: false,
  validateFormats: false,
  unicodeRegExp: false,
});

/** What is derived from one zod schema, once. */
interface Compiled {
  readonly check: ValidateFunction;
  /** Every property name the schema can hold, outer objects first, each in the schema's order. */
  readonly keys: readonly string[];
}

/** Compiled schemas. BOUNDED: one entry per schema object the codec checks (packet types and the batch frame). */
const compiled = new Map<z.ZodType, Compiled>();

function compiledFor(schema: z.ZodType): Compiled {
  let entry = compiled.get(schema);
  if (entry === undefined) {
    const json = z.toJSONSchema(schema, { target: "draft-2020-12", unrepresentable: "throw", io: "input" });
    const keys = new Set<string>();
    collectKeys(json, keys);
    entry = { check: ajv.compile(json), keys: [...keys] };
    compiled.set(schema, entry);
  }
  return entry;
}

/** Adds the property names of `node` and then of every object nested in it, breadth first. */
function collectKeys(node: unknown, keys: Set<string>): void {
  const queue: unknown[] = [node];
  for (let i = 0; i < queue.length; i += 1) {
    const item = queue[i];
    if (typeof item !== "object" || item === null) continue;
    const record = item as Record<string, unknown>;
    // An object open to any key (a record, a loose object) has no list to write it by.
    if (record["type"] === "object" && record["additionalProperties"] !== false) {
      throw new Error("a wire schema with an object open to any key cannot be written in a fixed key order");
    }
    const properties = record["properties"];
    if (typeof properties === "object" && properties !== null) {
      for (const [key, child] of Object.entries(properties)) {
        keys.add(key);
        queue.push(child);
      }
    }
    for (const nested of ["items", "anyOf", "oneOf", "allOf", "prefixItems"]) {
      const value = record[nested];
      if (Array.isArray(value)) queue.push(...value);
      else if (value !== undefined) queue.push(value);
    }
  }
}

/** True when `value` is certainly accepted by `schema` as it is; false means "ask zod". Never throws on data. */
export function conformsTo(schema: z.ZodType, value: unknown): boolean {
  return compiledFor(schema).check(value) === true;
}

/**
 * The property list that makes `JSON.stringify(value, list)` write a value of `schema` with its keys
 * in the schema's order, as zod's parse output would be, whatever order the value was built in.
 */
export function keyOrderOf(schema: z.ZodType): readonly string[] {
  return compiledFor(schema).keys;
}
