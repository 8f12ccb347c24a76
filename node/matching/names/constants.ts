/** Score at/above which two names (or two tokens) count as the same name for a hit decision. */
export const NAME_MATCH_THRESHOLD = 0.8;
