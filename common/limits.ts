/** Limits and defaults shared by every component; one source of truth. */

/** Largest signed envelope a node or coordinator accepts (bytes). */
export const MAX_ENVELOPE_BYTES = 64 * 1024;
/** Pair tag records one envelope may carry: every node key of a full registry, with rotations (common/pair-tags.ts). */
export const MAX_PAIR_TAG_RECORDS = 1024;
/**
 * Largest encoded envelope a node reads off the wire: the largest payload, the largest tags field
 * (20-byte records) and room for the key id and signature. Larger messages are refused undecoded.
 */
export const MAX_ENVELOPE_WIRE_BYTES = MAX_ENVELOPE_BYTES + MAX_PAIR_TAG_RECORDS * 20 + 1024;
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

/** Travellers one batch check may carry (Coordinator.CheckBatch, `watchmesh check --batch`). */
export const MAX_BATCH_QUERIES = 1000;
/**
 * Largest NATS message of a batch check, a BatchQuery or a node's BatchAnswer (bytes). Below
 * nats-server's default max_payload (1 MiB), which counts headers too, so a 1,000-traveller batch of
 * ordinary queries is one message; larger batches are cut into parts. A server configured with a
 * lower max_payload lowers it to that less NATS_HEADER_ROOM_BYTES (common/batch-messages.ts).
 */
export const MAX_BATCH_MESSAGE_BYTES = 896 * 1024;
/** Room kept below a server's max_payload for the headers of a batch message (deadline, kind, trace). */
export const NATS_HEADER_ROOM_BYTES = 8 * 1024;
/**
 * Largest gRPC request the coordinator accepts (bytes): a CheckBatchRequest of 1,000 queries of 16 KiB
 * on average. Single queries are still held to MAX_ENVELOPE_BYTES when verified.
 */
export const MAX_BATCH_REQUEST_BYTES = 16 * 1024 * 1024;
/**
 * Largest gRPC response a border client accepts (bytes): a CheckBatchResponse carries every asked
 * country's signed answer for every traveller (about 250 bytes each without hits).
 */
export const MAX_BATCH_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Coordinator gathering deadline of a batch when the caller gives none: nodes answer its travellers one by one. */
export const DEFAULT_BATCH_DEADLINE_MS = 10_000;

/**
 * Default per-requester rate limits (token buckets, common/rate-limiter.ts): checks per second a border
 * system key may send a coordinator (a CheckBatch counts each traveller), and queries per second a
 * requesting country/agency may send one node (batches included). Bursts of twice as many pass.
 */
export const DEFAULT_COORDINATOR_RATE_PER_SECOND = 1000;
export const DEFAULT_NODE_RATE_PER_SECOND = 2000;

/**
 * The most a query's subject may hold (MatchQuery on the wire): exactly what the JSON query format lets
 * through (common/query-json.ts: a `name` beside ten `names`, a `document` beside five `documents`, an
 * MRZ of 200 characters), so every JSON query passes. Nodes and the coordinator refuse a larger one
 * (INVALID_ARGUMENT) instead of matching it: each token of a name adds index keys to read, and a
 * fuzzed 2,000-character name made a node read 45,000 of them for one query. Lengths count UTF-16 code
 * units, as the JSON format's do. Within these limits a crafted subject can still cost a node much more
 * than an honest one (README, "JSON query format").
 */
export const QUERY_SUBJECT_LIMITS = {
  names: 11,
  nameLength: 200,
  nationalities: 5,
  documents: 6,
  documentNumberLength: 64,
  /** All MRZ lines together. */
  mrzLength: 200,
  entityTypeLength: 32,
  entityValueLength: 512,
} as const;
