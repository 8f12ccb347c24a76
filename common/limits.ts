/** Limits and defaults shared by every component; one source of truth. */

/** Largest signed envelope a node or coordinator accepts (bytes). */
export const MAX_ENVELOPE_BYTES = 64 * 1024;
/** Largest NDJSON record line accepted by import (bytes). */
export const MAX_RECORD_LINE_BYTES = 256 * 1024;
/** A query may live at most this long between issued_at and expires_at. */
export const MAX_QUERY_LIFETIME_MS = 5 * 60 * 1000;
/** Default lifetime a client gives its queries. */
export const DEFAULT_QUERY_LIFETIME_MS = 60 * 1000;
/** Tolerated clock difference between requester and node. */
export const DEFAULT_CLOCK_SKEW_MS = 30 * 1000;
/** Coordinator gathering deadline when the caller gives none. */
export const DEFAULT_CHECK_DEADLINE_MS = 1500;
/** Upper bound a caller may ask for. */
export const MAX_CHECK_DEADLINE_MS = 30_000;
/** Minimum nonce length in bytes. */
export const MIN_NONCE_BYTES = 16;
/** Hits returned per answer at most. */
export const MAX_HITS_PER_ANSWER = 20;
