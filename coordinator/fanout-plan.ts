import { MATCH_SHARD_COUNT, matchCountrySubject, matchShardOf, matchShardSubject } from "../common/subjects.ts";

/** One NATS message of a fan-out: its subject and the asked countries whose nodes receive it. */
export interface FanoutTarget {
  subject: string;
  countries: readonly string[];
}

/**
 * Chooses the subjects of a fan-out so that each asked country's nodes receive the query exactly once
 * and no other node does: a shard's subject when every node country of that shard is asked (so a check
 * of every country costs MATCH_SHARD_COUNT publishes, not one per country), else each country's own.
 */
export class FanoutPlanner {
  /** How many node countries of the registry each shard holds. */
  readonly #shardSizes = new Array<number>(MATCH_SHARD_COUNT).fill(0);

  constructor(nodeCountries: readonly string[]) {
    for (const country of new Set(nodeCountries)) this.#shardSizes[matchShardOf(country)]! += 1;
  }

  targets(asked: readonly string[]): FanoutTarget[] {
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
    return targets;
  }
}
