/**
 * `watchmesh eval-names`: recall on true cross-script pairs and false-accept rate on hard negatives
 * (a different Latin token of the same file with the same first letter and a length within ±1).
 */
import { compareNameTokens } from "./compare.ts";
import { NAME_MATCH_THRESHOLD } from "./constants.ts";
import { parseNamePairs, pickHardNegatives } from "./pairs.ts";

export interface NamePairReport {
  pairs: number;
  recall: number;
  falseAcceptRate: number;
  negatives: number;
  truePositives: number;
  falseAccepts: number;
  /** Pairs without a hard negative (no other token with the same first letter and a close length). */
  skippedNegatives: number;
  threshold: number;
  seed: number;
}

export interface EvaluateNamePairsOptions {
  seed: number;
}

/** Runs the comparison over a pair file's text (translit TSV format); malformed lines throw InvalidArgument. */
export function evaluateNamePairs(text: string, options: EvaluateNamePairsOptions): NamePairReport {
  const pairs = parseNamePairs(text);
  const negatives = pickHardNegatives(pairs, options.seed);
  let truePositives = 0;
  let falseAccepts = 0;
  let negativeCount = 0;
  pairs.forEach((pair, i) => {
    if (compareNameTokens(pair.foreign, pair.latin) >= NAME_MATCH_THRESHOLD) truePositives++;
    const negative = negatives[i];
    if (negative === undefined) return;
    negativeCount++;
    if (compareNameTokens(pair.foreign, negative) >= NAME_MATCH_THRESHOLD) falseAccepts++;
  });
  return {
    pairs: pairs.length,
    recall: pairs.length === 0 ? 0 : truePositives / pairs.length,
    falseAcceptRate: negativeCount === 0 ? 0 : falseAccepts / negativeCount,
    negatives: negativeCount,
    truePositives,
    falseAccepts,
    skippedNegatives: pairs.length - negativeCount,
    threshold: NAME_MATCH_THRESHOLD,
    seed: options.seed,
  };
}
