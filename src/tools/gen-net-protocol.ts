/**
 * Writes net-protocol/*.schema.json from the zod wire registry (npm run gen:net-protocol).
 * The files are generated: edit src/protocol/, never the JSON.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { renderNetProtocol } from "../protocol/json-schema.js";

const outDir = join(process.cwd(), "net-protocol");
mkdirSync(outDir, { recursive: true });
for (const name of readdirSync(outDir)) {
  if (name.endsWith(".schema.json")) rmSync(join(outDir, name));
}
const files = renderNetProtocol();
for (const [name, text] of files) writeFileSync(join(outDir, name), text);
console.log(`wrote ${files.size} schemas to ${outDir}`);
