/** The generated transliteration tables, loaded once at module load. */
import { readFileSync } from "node:fs";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import { TABLES_VERSION, type TranslitTables } from "./translit-model.ts";

function loadTables(): TranslitTables {
  const text = readFileSync(new URL("./translit-tables.json", import.meta.url), "utf8");
  const tables = JSON.parse(text) as TranslitTables;
  if (tables.version !== TABLES_VERSION || tables.bigram.length !== 27 * 27) {
    throw new WatchmeshError(
      ErrorCode.Internal,
      "translit-tables.json is stale: run node bin/run-ts.js scripts/build-name-tables.ts");
  }
  return tables;
}

export const TRANSLIT_TABLES: TranslitTables = loadTables();
