/**
 * A fast, copy-free acceptance check for values the zod schemas define. zod stays the only definition
 * of the wire: each schema's JSON Schema is generated from it (as net-protocol/ is) and compiled with
 * ajv on first use. `conformsTo` only answers yes or no and leaves the value as it is, where zod's
 * parse builds a new object with a result record per field. Measured on a task.assign: 0.5 µs against
 * zod's 2.4 µs, and no garbage; decodeDatagram as a whole went from 5.6 to 1.5 µs, on every hop of
 * every task.
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
  /** Undefined when the schema cannot be checked this way (see `refusal`): zod then judges every value. */
  readonly check: ValidateFunction | undefined;
  /** Every property name the schema can hold, outer objects first, each in the schema's order. */
  readonly keys: string[] | undefined;
  readonly refusal: string | undefined;
}

/** Compiled schemas. BOUNDED: one entry per schema object the codec checks (packet types and the batch frame). */
const compiled = new Map<z.ZodType, Compiled>();

function compiledFor(schema: z.ZodType): Compiled {
  let entry = compiled.get(schema);
  if (entry === undefined) {
    entry = compile(schema);
    compiled.set(schema, entry);
  }
  return entry;
}

/**
 * Compiles `schema`, or says why it cannot be: JSON Schema has no room for a default, a transform or a
 * refinement, so a schema whose input and output forms differ is left to zod, and so is anything
 * z.toJSONSchema or the key list cannot express. Never throws: decoding calls this on remote input.
 */
function compile(schema: z.ZodType): Compiled {
  const refuse = (refusal: string): Compiled => ({ check: undefined, keys: undefined, refusal });
  try {
    const options = { target: "draft-2020-12", unrepresentable: "throw" } as const;
    const input = z.toJSONSchema(schema, { ...options, io: "input" });
    const inputText = JSON.stringify(input);
    if (inputText !== JSON.stringify(z.toJSONSchema(schema, { ...options, io: "output" }))) {
      return refuse("its input and output differ (a default or a transform)");
    }
    if (inputText.includes('"$ref"')) return refuse("it refers to another schema ($ref)");
    const keys = keyListOf(input);
    if (typeof keys === "string") return refuse(keys);
    return { check: ajv.compile(input), keys, refusal: undefined };
  } catch (error) {
    return refuse((error as Error).message);
  }
}

/**
 * The property names of every object in `node`, outer first, or why no single list can write them
 * all in their own order (an object open to any key, or two objects ordering shared names differently).
 */
function keyListOf(node: unknown): string[] | string {
  const objects: string[][] = [];
  const open = collectKeys(node, objects);
  if (open) return "an object in it is open to any key";
  const keys = [...new Set(objects.flat())];
  const position = new Map(keys.map((key, index) => [key, index]));
  for (const names of objects) {
    for (let i = 1; i < names.length; i += 1) {
      if ((position.get(names[i] as string) as number) < (position.get(names[i - 1] as string) as number)) {
        return "two of its objects order the same names differently";
      }
    }
  }
  return keys;
}

/** Collects each object's property names (breadth first) into `objects`; true when an object is open to any key. */
function collectKeys(node: unknown, objects: string[][]): boolean {
  const queue: unknown[] = [node];
  for (let i = 0; i < queue.length; i += 1) {
    const item = queue[i];
    if (typeof item !== "object" || item === null) continue;
    const record = item as Record<string, unknown>;
    if (record["type"] === "object" && record["additionalProperties"] !== false) return true;
    const properties = record["properties"];
    if (typeof properties === "object" && properties !== null) {
      objects.push(Object.keys(properties));
      queue.push(...Object.values(properties));
    }
    for (const nested of ["items", "anyOf", "oneOf", "allOf", "prefixItems"]) {
      const value = record[nested];
      if (Array.isArray(value)) queue.push(...value);
      else if (value !== undefined) queue.push(value);
    }
  }
  return false;
}

/** True when `value` is certainly accepted by `schema` as it is; false means "ask zod". Never throws. */
export function conformsTo(schema: z.ZodType, value: unknown): boolean {
  const { check } = compiledFor(schema);
  return check !== undefined && check(value) === true;
}

/**
 * The property list that makes `JSON.stringify(value, list)` write a value of `schema` with its keys
 * in the schema's order, as zod's parse output would be, whatever order the value was built in.
 * Present whenever `conformsTo` can say yes.
 */
export function keyOrderOf(schema: z.ZodType): string[] | undefined {
  return compiledFor(schema).keys;
}

/** Why `schema` has no compiled check (zod judges all its values), or undefined when it has one. */
export function fastCheckRefusal(schema: z.ZodType): string | undefined {
  return compiledFor(schema).refusal;
}
