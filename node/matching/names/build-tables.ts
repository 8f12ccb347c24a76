/** The table build behind scripts/build-name-tables.ts: which file trains which script, in which order. */
import { isHeldOut, parseNamePairs, type NamePair } from "./pairs.ts";
import { foldLatin, ModelScript } from "./script.ts";
import { calibrate, toExamples, trainBigram, trainChannel } from "./train.ts";
import { TABLES_VERSION, type ScriptModel, type TranslitTables } from "./translit-model.ts";

/** Pair file (in shared/data/translit) per modelled script. */
export const PAIR_FILES: Readonly<Record<ModelScript, string>> = {
  [ModelScript.Arabic]: "wd_arabic_80.tsv",
  [ModelScript.Hebrew]: "wd_hebrew_80.tsv",
  [ModelScript.Cyrillic]: "wd_russian_80.tsv",
  [ModelScript.Han]: "wd_chinese_80.tsv",
  [ModelScript.Kana]: "wd_japanese_80.tsv",
  [ModelScript.Hangul]: "wd_korean_80.tsv",
};

export interface BuildTablesOptions {
  readPairFile: (file: string) => string;
  /** Train on every pair instead of the 90% development split. */
  useAllPairs: boolean;
  log: (line: string) => void;
  /** Hard-negative acceptance rate the calibration aims at on training pairs. */
  targetFar?: number;
}

export function buildTables(options: BuildTablesOptions): TranslitTables {
  const targetFar = options.targetFar ?? 0.007;
  const training = new Map<ModelScript, NamePair[]>();
  for (const [script, file] of Object.entries(PAIR_FILES) as Array<[ModelScript, string]>) {
    const pairs = parseNamePairs(options.readPairFile(file));
    training.set(script, options.useAllPairs ? pairs : pairs.filter((p) => !isHeldOut(p)));
  }
  const latinTokens = new Set<string>();
  for (const pairs of training.values()) for (const p of pairs) latinTokens.add(foldLatin(p.latin));
  latinTokens.delete("");
  const tables: TranslitTables = {
    version: TABLES_VERSION,
    source:
      "Learned from Wikidata name pairs of Merhav & Ash, COLING 2018 (steveash/NETransliteration-COLING2018), CC0 1.0",
    bigram: trainBigram(latinTokens),
    scripts: {},
  };
  for (const [script, pairs] of training) {
    const started = Date.now();
    const units = trainChannel(toExamples(pairs, script));
    const model: ScriptModel = { units, offset: 0, scale: 1 };
    // Calibrate on a fixed slice of the training pairs (every 4th) to keep the build quick.
    const sample = pairs.filter((_, i) => i % 4 === 0);
    Object.assign(model, calibrate(tables, model, script, sample, targetFar));
    tables.scripts[script] = model;
    options.log(
      `${script}: ${pairs.length} pairs, ${Object.keys(units).length} units, offset ${model.offset}, scale ${model.scale}, ${Date.now() - started} ms`,
    );
  }
  return tables;
}
