import type { SigningIdentity } from "../../common/key-files.ts";
import { silentLogger } from "../../common/logger.ts";
import type { TrustRegistry } from "../../common/registry.ts";
import { createMatcher, MatchService, ReplayGuard, type RecordStore } from "../../node/index.ts";

/**
 * A country node's MatchService over its own store, without transports: the object behind both the
 * NATS responder and the gRPC service, for tests that feed it many messages directly
 * (`answerBytes`). The one place tests build it, so a change of its options is made here only.
 */
export function matchServiceFor(options: { identity: SigningIdentity; registry: TrustRegistry; store: RecordStore }): MatchService {
  const { identity, registry, store } = options;
  return new MatchService({
    identity,
    registry: () => registry,
    matcher: createMatcher(store, { country: identity.country }),
    referenceFor: (id) => store.referenceFor(id),
    replayGuard: ReplayGuard.open(store),
    logger: silentLogger(),
  });
}
