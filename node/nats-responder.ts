import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { encodeEnvelope } from "../common/proto.ts";
import type { Logger } from "../common/logger.ts";
import { settleWithin } from "../common/nats-connection.ts";
import { DEADLINE_HEADER, MATCH_ALL_SUBJECT, matchCountrySubject, nodeQueueGroup } from "../common/subjects.ts";
import { contextFromNatsHeaders } from "../common/telemetry.ts";
import type { MatchService } from "./match-service.ts";

export interface NatsResponderOptions {
  connection: NatsConnection;
  service: MatchService;
  logger: Logger;
}

/**
 * Answers fan-out queries arriving over NATS. All replicas of one country join the same queue group,
 * so each query is answered by exactly one of them.
 */
export class NatsResponder {
  readonly #subscriptions: Subscription[];
  #stopping: Promise<void> | undefined;

  private constructor(subscriptions: Subscription[]) {
    this.#subscriptions = subscriptions;
  }

  static start(options: NatsResponderOptions): NatsResponder {
    const { connection, service, logger } = options;
    const queue = nodeQueueGroup(service.country);
    const onMessage = (error: Error | null, msg: Msg) => {
      if (error) {
        logger.error({ code: "NATS_SUBSCRIPTION" }, "subscription error");
        return;
      }
      if (!msg.reply) return; // Nobody is waiting for an answer.
      const deadline = Number(msg.headers?.get(DEADLINE_HEADER) ?? "");
      if (Number.isFinite(deadline) && deadline > 0 && Date.now() > deadline) return; // The asker has stopped waiting.
      const answer = service.answerBytes(msg.data, contextFromNatsHeaders(msg.headers));
      try {
        msg.respond(encodeEnvelope(answer));
      } catch {
        logger.warn({ code: "NATS_RESPOND" }, "could not publish an answer");
      }
    };
    const subscriptions = [MATCH_ALL_SUBJECT, matchCountrySubject(service.country)].map((subject) =>
      connection.subscribe(subject, { queue, callback: onMessage }),
    );
    return new NatsResponder(subscriptions);
  }

  /** Stops taking new queries and finishes the ones in hand. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= Promise.all(this.#subscriptions.map((sub) => settleWithin(sub.drain(), 2000))).then(() => undefined);
    return this.#stopping;
  }
}
