/**
 * The owner's side of follow-ups: the node consumes follow-up requests addressed to its country
 * durably, verifies them, and keeps them in a small LMDB environment beside the records
 * (`<dataDir>/followups`) for the operator, who approves or rejects each one (`watchmesh followup
 * approve|reject`). An approval seals the record's details to the requester's registered key and
 * publishes the signed reply; a rejection publishes a signed reply with a reason and no details.
 */
import path from "node:path";
import { jetstream, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { open, type Database, type RootDatabase } from "lmdb";
import { DEFAULT_FOLLOWUP_DEADLINE_MS, openFollowupRequest, sealDetails, signFollowupReply } from "../common/followup.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import type { SigningIdentity } from "../common/key-files.ts";
import type { Logger } from "../common/logger.ts";
import { ensureFollowupStream, runDurableConsumer, type RunningConsumer } from "../common/jetstream.ts";
import { decodeEnvelope, encodeEnvelope, FollowupDecision, type FollowupReply } from "../common/proto.ts";
import type { TrustRegistry } from "../common/registry.ts";
import { FOLLOWUP_STREAM, followupReplySubject, followupRequestSubject } from "../common/subjects.ts";
import type { RecordStore } from "./store.ts";

export type FollowupStatus = "pending" | "approved" | "rejected";

/** A request as the owner keeps it; `watchmesh followup list --json` prints these (a documented contract). */
export interface StoredFollowup {
  requestId: string;
  reference: string;
  queryId: string;
  requestingCountry: string;
  requestingAgency: string;
  justification: string;
  requestedAt: string;
  receivedAt: string;
  /** The requester's key that signed the request: an approval is sealed to it. */
  signerKeyId: string;
  status: FollowupStatus;
  decidedAt?: string;
  reason?: string;
}

/** A stored request with its age against the answering deadline. */
export interface FollowupWithAge extends StoredFollowup {
  ageMs: number;
  overdue: boolean;
}

export function followupsPath(dataDir: string): string {
  return path.join(dataDir, "followups");
}

/** The owner's stored follow-up requests (shared by the consuming node and the operator's CLI). */
export class FollowupStore implements AsyncDisposable {
  readonly #root: RootDatabase;
  readonly #db: Database<StoredFollowup, string>;

  constructor(dataDir: string) {
    this.#root = open({ path: followupsPath(dataDir), noSubdir: false });
    this.#db = this.#root.openDB<StoredFollowup, string>("requests", { encoding: "json" });
  }

  get(requestId: string): StoredFollowup | undefined {
    return this.#db.get(requestId);
  }

  /** Requests oldest first, with their age; pending ones past `deadlineMs` are overdue. */
  list(nowMs: number, deadlineMs = DEFAULT_FOLLOWUP_DEADLINE_MS): FollowupWithAge[] {
    return Array.from(this.#db.getRange(), ({ value }) => value)
      .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt))
      .map((request) => {
        const ageMs = nowMs - Date.parse(request.requestedAt);
        return { ...request, ageMs, overdue: request.status === "pending" && ageMs > deadlineMs };
      });
  }

  /** Stores a new request unless its id is known already; true when it was new. */
  add(request: StoredFollowup): Promise<boolean> {
    return this.#db.ifNoExists(request.requestId, () => {
      this.#db.put(request.requestId, request).catch(() => undefined);
    });
  }

  async update(request: StoredFollowup): Promise<void> {
    await this.#db.put(request.requestId, request);
  }

  async close(): Promise<void> {
    await this.#root.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export interface FollowupDeskOptions {
  connection: NatsConnection;
  country: string;
  dataDir: string;
  registry: () => TrustRegistry;
  logger: Logger;
  /** Called after each request message was handled: lets tests wait without sleeping. */
  onHandled?: (outcome: { requestId: string; stored: boolean; code?: string }) => void;
}

/** Consumes this country's follow-up requests into its FollowupStore. */
export class FollowupDesk {
  readonly store: FollowupStore;
  readonly #consumer: RunningConsumer;
  #stopping: Promise<void> | undefined;

  private constructor(store: FollowupStore, consumer: RunningConsumer) {
    this.store = store;
    this.#consumer = consumer;
  }

  /** Starts consuming; undefined (and a warning) without JetStream or before the stream exists. */
  static async start(options: FollowupDeskOptions): Promise<FollowupDesk | undefined> {
    const { connection, country, logger } = options;
    const store = new FollowupStore(options.dataDir);
    let consumer: RunningConsumer | undefined;
    try {
      consumer = await runDurableConsumer({
        connection,
        stream: FOLLOWUP_STREAM,
        durable: `watchmesh-followup-${country}`,
        filterSubject: followupRequestSubject(country),
        ensureStream: ensureFollowupStream,
        streamLabel: "follow-up",
        what: "follow-up requests",
        logger,
        handle: (message) => handleRequest(message, store, options),
      });
    } finally {
      if (!consumer) await store.close();
    }
    return consumer && new FollowupDesk(store, consumer);
  }

  /** Stops consuming (unacknowledged requests stay in the stream) and closes the store. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#consumer.stop();
      await this.store.close();
    })();
    return this.#stopping;
  }
}

async function handleRequest(message: JsMsg, store: FollowupStore, options: FollowupDeskOptions): Promise<void> {
  let requestId = "";
  try {
    const { request, signer } = openFollowupRequest(decodeEnvelope(message.data), options.registry(), Date.now());
    requestId = request.requestId;
    if (request.ownerCountry !== options.country) throw new WatchmeshError(ErrorCode.InvalidArgument, "follow-up request addressed to another country");
    const stored = await store.add({
      requestId,
      reference: request.reference,
      queryId: request.queryId,
      requestingCountry: request.requestingCountry,
      requestingAgency: request.requestingAgency,
      justification: request.justification,
      requestedAt: new Date(request.requestedAtMs).toISOString(),
      receivedAt: new Date().toISOString(),
      signerKeyId: signer.keyId,
      status: "pending",
    });
    message.ack();
    options.logger.info({ requestId, requester: request.requestingCountry }, "follow-up request received");
    options.onHandled?.({ requestId, stored });
  } catch (error) {
    const failure = WatchmeshError.from(error, ErrorCode.MalformedMessage);
    message.term();
    options.logger.warn({ code: failure.code }, "follow-up request rejected");
    options.onHandled?.({ requestId, stored: false, code: failure.code });
  }
}

export interface DecideOptions {
  requestId: string;
  decision: "approve" | "reject";
  /** Shown to the requester on a rejection (no personal data). */
  reason?: string;
  followups: FollowupStore;
  records: RecordStore;
  identity: SigningIdentity;
  registry: TrustRegistry;
  connection: NatsConnection;
  nowMs?: number;
}

/**
 * Decides a pending request: publishes the signed reply (sealed details on approval) to the
 * requester's reply subject, then records the decision. Deciding twice is refused.
 */
export async function decideFollowup(options: DecideOptions): Promise<FollowupReply> {
  const { followups, records, identity, registry, requestId } = options;
  const nowMs = options.nowMs ?? Date.now();
  const request = followups.get(requestId);
  if (!request) throw new WatchmeshError(ErrorCode.NotFound, `no follow-up request ${requestId}`);
  if (request.status !== "pending") throw new WatchmeshError(ErrorCode.InvalidArgument, `follow-up request ${requestId} was already ${request.status}`);
  const base = {
    requestId,
    reference: request.reference,
    ownerCountry: identity.country,
    requestingCountry: request.requestingCountry,
    decidedAtMs: nowMs,
  };
  let reply: FollowupReply;
  if (options.decision === "approve") {
    const recordId = records.idForReference(request.reference);
    const record = recordId === undefined ? undefined : records.get(recordId);
    if (!record) throw new WatchmeshError(ErrorCode.NotFound, "the reference names no record of this node (deleted or never ours): reject the request instead");
    // The key that signed the request must still be valid: details go only to a current member key.
    const requester = registry.resolveSigner(request.signerKeyId, nowMs, ["border", "node"]);
    reply = {
      ...base,
      decision: FollowupDecision.Approved,
      sealedDetails: sealDetails(record, requester.publicKey),
      sealedToKeyId: requester.keyId,
      reason: "",
    };
  } else {
    reply = { ...base, decision: FollowupDecision.Rejected, sealedDetails: new Uint8Array(), sealedToKeyId: "", reason: options.reason ?? "" };
  }
  const envelope = signFollowupReply(reply, identity);
  await ensureFollowupStream(options.connection).catch(() => undefined);
  await jetstream(options.connection).publish(followupReplySubject(request.requestingCountry), encodeEnvelope(envelope), { msgID: `reply:${requestId}` });
  await followups.update({
    ...request,
    status: options.decision === "approve" ? "approved" : "rejected",
    decidedAt: new Date(nowMs).toISOString(),
    ...(options.decision === "reject" && options.reason ? { reason: options.reason } : {}),
  });
  return reply;
}
