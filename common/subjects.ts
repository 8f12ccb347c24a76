/** NATS subjects and header names: defined once, used by node and coordinator. */

const PREFIX = "watchmesh.v1";

/** Fan-out subject every country node subscribes to. */
export const MATCH_ALL_SUBJECT = `${PREFIX}.match.all`;

/** Subject addressing one country's nodes (for checks limited to some countries). */
export function matchCountrySubject(country: string): string {
  return `${PREFIX}.match.country.${country}`;
}

/**
 * Number of shard subjects a check of every country is published on. A query carries a 20-byte tag
 * record per node key: one message on match.all would carry all of them to every node (0.8 MB per
 * check at 196 countries), one message per country costs the coordinator a publish each (about 3 µs
 * with nats.js, 0.55 ms a check). Sixteen shards keep both small: 16 publishes, about 12 countries'
 * records in each. Part of the wire contract: nodes and coordinators must agree on it.
 */
export const MATCH_SHARD_COUNT = 16;

/** The shard of a country: FNV-1a (32 bit) of its ASCII code, modulo MATCH_SHARD_COUNT. */
export function matchShardOf(country: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < country.length; index++) {
    hash ^= country.charCodeAt(index) & 0xff;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % MATCH_SHARD_COUNT;
}

/** Subject of one shard: the nodes of every country whose matchShardOf is `shard` listen on it. */
export function matchShardSubject(shard: number): string {
  return `${PREFIX}.match.shard.${shard}`;
}

/** Every subject a country's nodes take match queries from (in their country's queue group). */
export function nodeMatchSubjects(country: string): string[] {
  return [MATCH_ALL_SUBJECT, matchShardSubject(matchShardOf(country)), matchCountrySubject(country)];
}

/** Queue group shared by the replicas of one country, so exactly one replica answers. */
export function nodeQueueGroup(country: string): string {
  return `watchmesh-node-${country}`;
}

/** Inbox prefix of one coordinator instance; answers come back on `${prefix}.<token>`. */
export function coordinatorInboxPrefix(instanceId: string): string {
  return `_INBOX.watchmesh.${instanceId}`;
}

/**
 * Inbox prefix of a NATS user: its request replies, JetStream API replies and pulled messages arrive
 * below it, and deploy/nats/accounts.conf lets only that user subscribe there (`_INBOX_<user>.>`),
 * instead of every user sharing `_INBOX.*.*`. Characters a subject token cannot hold become "_".
 */
export function userInboxPrefix(user: string): string {
  return `_INBOX_${user.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/** Absolute deadline (ms since epoch) after which the coordinator no longer waits for answers. */
export const DEADLINE_HEADER = "Watchmesh-Deadline-Ms";

/**
 * Key id of the coordinator relaying a query (role "coordinator" in the trust registry): nodes tag their
 * answers for it, so it checks each answer with a MAC. Unauthenticated on purpose: a tag for a key can
 * only be checked by that key's holder, and without a registered coordinator key nodes sign instead.
 */
export const COORDINATOR_KEY_HEADER = "Watchmesh-Coordinator-Key";

/** Subject of hit notifications for the records of `ownerCountry` (JetStream stream NOTIFY_STREAM). */
export function notifySubject(ownerCountry: string): string {
  return `${PREFIX}.notify.${ownerCountry}`;
}

/** The JetStream stream holding hit notifications until each owner's node acknowledged them. */
export const NOTIFY_STREAM = "WATCHMESH_NOTIFY";

/** Durable consumer through which an owner's node reads its notifications. */
export function notifyConsumer(ownerCountry: string): string {
  return `watchmesh-notify-${ownerCountry}`;
}

/** Follow-up requests to the owner of a hit (JetStream stream FOLLOWUP_STREAM). */
export function followupRequestSubject(ownerCountry: string): string {
  return `${PREFIX}.followup.request.${ownerCountry}`;
}

/** Follow-up replies to the requesting country (same stream). */
export function followupReplySubject(requestingCountry: string): string {
  return `${PREFIX}.followup.reply.${requestingCountry}`;
}

export const FOLLOWUP_STREAM = "WATCHMESH_FOLLOWUP";

/**
 * Header naming what a message on the match subjects carries when it is not one SignedEnvelope.
 * Batches travel on the match subjects so that the queue groups, NATS permissions and leaf links
 * that carry single queries carry them too.
 */
export const KIND_HEADER = "Watchmesh-Kind";
/** KIND_HEADER value of a signed AggregateQuery (proto/watchmesh/v1/aggregate.proto). */
export const AGGREGATE_QUERY_KIND = "aggregate-query";
/** KIND_HEADER value of a BatchQuery (proto/watchmesh/v1/batch.proto). */
export const BATCH_QUERY_KIND = "batch-query";

/**
 * Inbox prefix where one coordinator instance gathers batch answers, on `${prefix}.<batch>.<message>`
 * (a reply subject per message published, as a node may respond once per request): deeper than its
 * single-check inbox, so neither wildcard subscription sees the other's answers.
 */
export function coordinatorBatchInboxPrefix(instanceId: string): string {
  return `${coordinatorInboxPrefix(instanceId)}.batch`;
}
