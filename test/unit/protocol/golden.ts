/**
 * The golden vectors of test/golden/ (one file per packet type, `<type>--<variant>.json` for other
 * shapes of a type), shared by the codec and conformance tests.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** One golden vector: a packet and its exact datagram. */
export interface GoldenVector {
  readonly type: string;
  readonly description: string;
  /** UTF-8 length of `wire`; pins the bytes against an editor re-normalising the text. */
  readonly wireBytes: number;
  /** The exact datagram, as text (its UTF-8 encoding is the byte string on the wire). */
  readonly wire: string;
  readonly packet: Record<string, unknown>;
}

const GOLDEN_DIR = fileURLToPath(new URL("../../golden/", import.meta.url));

/** Separates a packet type from a variant name in a golden file name (`task.ack--moved.json`). */
const VARIANT_SEPARATOR = "--";

/** Every vector by file name without `.json`: the type itself for the main vector of each type. */
export function loadGolden(): Map<string, GoldenVector> {
  const vectors = new Map<string, GoldenVector>();
  for (const name of readdirSync(GOLDEN_DIR).filter((file) => file.endsWith(".json"))) {
    const vector = JSON.parse(readFileSync(`${GOLDEN_DIR}${name}`, "utf8")) as GoldenVector;
    const stem = name.slice(0, -".json".length);
    const [type, variant, ...rest] = stem.split(VARIANT_SEPARATOR);
    if (type !== vector.type || variant === "" || rest.length > 0)
      throw new Error(`golden file ${name} must be named ${vector.type}.json or ${vector.type}--<variant>.json`);
    vectors.set(stem, vector);
  }
  return vectors;
}
