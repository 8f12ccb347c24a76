/**
 * Publishes a hit notification to each owner whose node answered a check with a hit, durably (the
 * JetStream stream WATCHMESH_NOTIFY), without delaying the check's answer to the border system. A
 * publication is retried until JetStream acknowledges it or the retry budget is spent; its message id
 * is the notification id, so a retry is stored once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { WatchmeshError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { CountryStatus, encodeHitNotification, type HitNotification, type MatchQuery } from "../common/proto.ts";
import { notifySubject } from "../common/subjects.ts";
import type { GatheredResult } from "./gatherer.ts";

const RETRY_DELAYS_MS = [200, 1000, 5000, 15000];

export class HitNotifier {
  readonly #js: JetStreamClient;
  readonly #logger: Logger;
  readonly #pending = new Set<Promise<void>>();
  /** Aborted by close(): retries waiting for their next attempt give up at once. */
  readonly #closing = new AbortController();

  constructor(connection: NatsConnection, logger: Logger) {
    this.#js = jetstream(connection);
    this.#logger = logger;
  }

  /** Starts publishing one notification per hit country; returns at once. */
  notify(query: MatchQuery, results: readonly GatheredResult[], nowMs: number): void {
    for (const result of results) {
      if (result.status !== CountryStatus.Hit || !result.answer) continue;
      const notification: HitNotification = {
        notificationId: `${query.queryId}:${result.country}`,
        ownerCountry: result.country,
        queryId: query.queryId,
        requestingCountry: query.requestingCountry,
        requestingAgency: query.requestingAgency,
        requesterLocation: query.requesterLocation,
        purpose: query.purpose,
        queriedAtMs: query.issuedAtMs,
        notifiedAtMs: nowMs,
        answer: result.answer,
      };
      const publishing = this.#publish(notification).finally(() => this.#pending.delete(publishing));
      this.#pending.add(publishing);
    }
  }

  /** Stops retrying and waits for publications in flight to end (published or given up). */
  async close(): Promise<void> {
    this.#closing.abort();
    await Promise.allSettled([...this.#pending]);
  }

  async #publish(notification: HitNotification): Promise<void> {
    const bytes = encodeHitNotification(notification);
    const context = { owner: notification.ownerCountry, queryId: notification.queryId };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#js.publish(notifySubject(notification.ownerCountry), bytes, { msgID: notification.notificationId });
        return;
      } catch (error) {
        const delayMs = RETRY_DELAYS_MS[attempt];
        if (delayMs === undefined || this.#closing.signal.aborted) {
          this.#logger.error({ ...context, code: WatchmeshError.from(error).code }, "hit notification could not be published");
          return;
        }
        this.#logger.warn({ ...context, attempt: attempt + 1 }, "hit notification not yet published; retrying");
        await sleep(delayMs, undefined, { signal: this.#closing.signal }).catch(() => undefined);
      }
    }
  }
}
