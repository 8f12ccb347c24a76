/**
 * Cross-script name matching: analysed forms of names, blocking keys for the store's indexes, and the
 * query-vs-record name comparison used by the matcher.
 */
export { analyseName, type AnalysedName, type AnalysedToken } from "./analyse.ts";
export { analysedBlockingKeys, nameBlockingKeys, nameTokenCodeGroups } from "./blocking.ts";
export {
  compareAnalysed,
  compareAnalysedName,
  compareNames,
  compareNameTokens,
  type NameComparison,
} from "./compare.ts";
export { NAME_MATCH_THRESHOLD } from "./constants.ts";
export { evaluateNamePairs, type EvaluateNamePairsOptions, type NamePairReport } from "./evaluate.ts";
export { isHeldOut, parseNamePairs, type NamePair } from "./pairs.ts";
