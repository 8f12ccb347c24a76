import { MATCH_SHARD_COUNT, matchCountrySubject, matchShardOf, matchShardSubject } from "../common/subjects.ts";

/** One NATS message of a fan-out: its subject and the asked countries whose nodes receive it. */
export interface FanoutTarget {
  subject: string;
  countries: readonly string[];
}

/** A fan-out's messages, and for each asked country the index of the message that reaches it. */
export interface FanoutPlan {
  targets: readonly FanoutTarget[];
  targetOf: ReadonlyMap<string, number>;
}

/**
 * Chooses the subjects of a fan-out so that each asked country's nodes receive the query exactly once
 * and no other node does: a shard's subject when every node country of that shard is asked (so a check
 * of every country costs MATCH_SHARD_COUNT publishes, not one per country), else each country's own.
 */
export class FanoutPlanner {
  readonly #nodeCountries: readonly string[];
  /** How many node countries of the registry each shard holds. */
  readonly #shardSizes = new Array<number>(MATCH_SHARD_COUNT).fill(0);
  #everyCountry: FanoutPlan | undefined;

  constructor(nodeCountries: readonly string[]) {
    this.#nodeCountries = [...new Set(nodeCountries)];
    for (const country of this.#nodeCountries) this.#shardSizes[matchShardOf(country)]! += 1;
  }

  /** The plan of a check of every node country (made once: most checks are). */
  planForAll(): FanoutPlan {
    this.#everyCountry ??= this.plan(this.#nodeCountries);
    return this.#everyCountry;
  }

  plan(asked: readonly string[]): FanoutPlan {
    const byShard = new Map<number, string[]>();
    for (const country of new Set(asked)) {
      const shard = matchShardOf(country);
      const members = byShard.get(shard);
      if (members) members.push(country);
      else byShard.set(shard, [country]);
    }
    const targets: FanoutTarget[] = [];
    for (const [shard, members] of byShard) {
      if (members.length > 1 && members.length === this.#shardSizes[shard]) targets.push({ subject: matchShardSubject(shard), countries: members });
      else for (const country of members) targets.push({ subject: matchCountrySubject(country), countries: [country] });
    }
    const targetOf = new Map<string, number>();
    targets.forEach((target, index) => {
      for (const country of target.countries) targetOf.set(country, index);
    });
    return { targets, targetOf };
  }
}
