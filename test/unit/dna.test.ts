import { seededRandom } from "../../common/seeded-random.ts";
import { describe, expect, it } from "vitest";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { DNA_LOCI, ESS_LOCI, type DnaLocus } from "../../node/matching/biometric-schema.ts";
import {
  compareDna,
  DNA_BLOCKING_GROUPS,
  dnaBlockingKeys,
  dnaFromProto,
  dnaToProto,
  parseDnaProfile,
  type DnaProfile,
} from "../../node/matching/dna.ts";

/** A full ESS-12 profile with plausible alleles. */
const ESS_PROFILE = {
  D3S1358: [15, 16],
  VWA: [17, 18],
  D8S1179: [13, 14],
  D21S11: [29, 30.2],
  D18S51: [14, 17],
  TH01: [6, 9.3],
  FGA: [21, 23],
  D1S1656: [12, 15.3],
  D2S441: [10, 11],
  D10S1248: [13, 15],
  D12S391: [18, 20],
  D22S1045: [15, 16],
  AMEL: ["X", "Y"],
};

function profile(input: Record<string, unknown>): DnaProfile {
  return parseDnaProfile(input);
}

function withLoci(changes: Record<string, unknown>, base: Record<string, unknown> = ESS_PROFILE): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [locus, value] of Object.entries(changes)) {
    if (value === undefined) delete out[locus];
    else out[locus] = value;
  }
  return out;
}

function onlyLoci(loci: readonly string[], base: Record<string, unknown> = ESS_PROFILE): Record<string, unknown> {
  return Object.fromEntries(loci.map((locus) => [locus, base[locus]]));
}

function parseError(input: unknown): WatchmeshError {
  try {
    parseDnaProfile(input);
  } catch (error) {
    if (error instanceof WatchmeshError) return error;
    throw error;
  }
  throw new Error("expected parseDnaProfile to throw");
}

describe("parseDnaProfile", () => {
  it("canonicalises loci, alleles and homozygous pairs", () => {
    const parsed = profile(
      withLoci({ VWA: undefined, vWA: ["18", 17], TH01: [9.3, "06"], D3S1358: [15, 15], "Penta D": [12.4, 9], AMEL: ["y", "x"] }),
    );
    expect(parsed.VWA).toEqual(["17", "18"]);
    expect(parsed.TH01).toEqual(["6", "9.3"]);
    expect(parsed.D3S1358).toEqual(["15"]);
    expect(parsed.PENTA_D).toEqual(["9", "12.4"]);
    expect(parsed.AMEL).toEqual(["X", "Y"]);
    expect(Object.keys(parsed)).not.toContain("vWA");
  });

  it("turns the annex's wildcard codes into the wildcard and sorts it last", () => {
    const parsed = profile(withLoci({ FGA: ["*", 21], D18S51: [">27", 14], D21S11: ["OL", 29], D8S1179: [99, 13], D2S441: ["nr", 10] }));
    expect(parsed.FGA).toEqual(["21", "*"]);
    expect(parsed.D18S51).toEqual(["14", "*"]);
    expect(parsed.D21S11).toEqual(["29", "*"]);
    expect(parsed.D8S1179).toEqual(["13", "*"]);
    expect(parsed.D2S441).toEqual(["10", "*"]);
  });

  it("rejects a mixture (3+ alleles) naming the locus but not the alleles", () => {
    const error = parseError(withLoci({ VWA: [17, 18, 19] }));
    expect(error.code).toBe(ErrorCode.InvalidRecord);
    expect(error.message).toContain("DNA profile looks like a mixture at locus VWA");
    expect(error.message).toContain('"dna.VWA"');
    expect(error.message).not.toMatch(/17|18|19/);
  });

  it("rejects an unknown locus, naming it safely", () => {
    const error = parseError(withLoci({ D99S999: [1, 2] }));
    expect(error.code).toBe(ErrorCode.InvalidRecord);
    expect(error.message).toContain('unknown DNA locus "D99S999"');
    const control = parseError(withLoci({ "EVIL\u0000NAME": [12, 13] }));
    expect(control.message).not.toContain("\u0000");
  });

  it("rejects a locus given twice under two spellings", () => {
    expect(parseError(withLoci({ vWA: [17, 18] })).message).toContain("VWA is given twice");
  });

  it("rejects invalid alleles without echoing them", () => {
    for (const bad of [[12, 105], [12, 9.7], ["abc"], [12, -3], [null], [], "12,13"]) {
      const error = parseError(withLoci({ TH01: bad }));
      expect(error.code).toBe(ErrorCode.InvalidRecord);
      expect(error.message).toContain("TH01");
      expect(error.message).not.toMatch(/105|9\.7|abc/);
    }
    // .4 microvariants exist only at the pentanucleotide loci.
    expect(() => profile(withLoci({ TH01: [9.4, 6] }))).toThrow(/TH01/);
    expect(() => profile(withLoci({ PENTA_E: [9.4, 6] }))).not.toThrow();
    expect(() => profile(withLoci({ AMEL: ["Z"] }))).toThrow(/AMEL/);
  });

  it("rejects fewer than 6 fully designated loci, not counting AMEL or wildcard loci", () => {
    const five = onlyLoci(["D3S1358", "VWA", "D8S1179", "D21S11", "D18S51", "AMEL"]);
    expect(parseError(five).message).toMatch(/at least 6 fully designated loci.*it has 5/);
    expect(() => profile({ ...five, TH01: [6, "*"] })).toThrow(/it has 5/);
    expect(() => profile({ ...five, TH01: ["*"] })).toThrow(/it has 5/);
    expect(profile({ ...five, TH01: [6] }).TH01).toEqual(["6"]);
  });

  it("rejects non-objects", () => {
    for (const bad of [null, [], "D3S1358=15,16", 42]) expect(parseError(bad).code).toBe(ErrorCode.InvalidRecord);
  });

  it("names the caller's field", () => {
    expect(() => parseDnaProfile(withLoci({ VWA: [1, 2, 3] }), "query.dna")).toThrow(/"query\.dna\.VWA"/);
  });
});

describe("compareDna (Prüm rules)", () => {
  const base = profile(ESS_PROFILE);

  it("full match: all shared alleles agree", () => {
    expect(compareDna(base, profile(ESS_PROFILE))).toEqual({ outcome: "full_match", comparedLoci: 12, mismatchedAlleles: 0 });
  });

  it("compares only the shared loci", () => {
    const record = profile(onlyLoci(["D3S1358", "VWA", "D8S1179", "D21S11", "D18S51", "TH01", "FGA"]));
    expect(compareDna(base, record)).toEqual({ outcome: "full_match", comparedLoci: 7, mismatchedAlleles: 0 });
  });

  it("near match: exactly one allele differs", () => {
    const record = profile(withLoci({ VWA: [17, 19] }));
    expect(compareDna(base, record)).toEqual({ outcome: "near_match", comparedLoci: 12, mismatchedAlleles: 1 });
  });

  it("a microvariant is a different allele", () => {
    expect(compareDna(base, profile(withLoci({ TH01: [6, 9] }))).outcome).toBe("near_match");
  });

  it("two differing alleles, at one locus or two, are no match", () => {
    expect(compareDna(base, profile(withLoci({ VWA: [14, 19] }))).outcome).toBe("no_match");
    const twoLoci = compareDna(base, profile(withLoci({ VWA: [17, 19], FGA: [21, 24] })));
    expect(twoLoci).toEqual({ outcome: "no_match", comparedLoci: 12, mismatchedAlleles: 2 });
  });

  it("homozygous: a single allele is two equal alleles", () => {
    const query = profile(withLoci({ VWA: [17] }));
    expect(compareDna(query, profile(withLoci({ VWA: [17, 17] }))).outcome).toBe("full_match");
    // [17] vs [17,18]: one allele differs (a possible drop-out).
    expect(compareDna(query, base)).toMatchObject({ outcome: "near_match", mismatchedAlleles: 1 });
    // [17] vs [18,19]: both differ.
    expect(compareDna(query, profile(withLoci({ VWA: [18, 19] })))).toMatchObject({ outcome: "no_match", mismatchedAlleles: 2 });
  });

  it("a wildcard agrees with any value, in either position", () => {
    expect(compareDna(base, profile(withLoci({ VWA: [18, "*"] })))).toMatchObject({ outcome: "full_match", mismatchedAlleles: 0 });
    expect(compareDna(profile(withLoci({ VWA: ["*", 17] })), base).outcome).toBe("full_match");
    expect(compareDna(base, profile(withLoci({ VWA: ["*", "*"] }))).outcome).toBe("full_match");
    // The wildcard covers one position only: [19,*] against [17,18] still differs by one allele.
    expect(compareDna(base, profile(withLoci({ VWA: [19, "*"] })))).toMatchObject({ outcome: "near_match", mismatchedAlleles: 1 });
  });

  it("not comparable with fewer than 6 shared fully designated loci", () => {
    const six = ["D3S1358", "VWA", "D8S1179", "D21S11", "D18S51", "TH01"];
    const query = profile(onlyLoci(six));
    const recordFive = profile({ ...onlyLoci(six.slice(0, 5)), FGA: [21, 23], D1S1656: [12, 15.3] });
    expect(compareDna(query, recordFive)).toEqual({ outcome: "not_comparable", comparedLoci: 5, mismatchedAlleles: 0 });
    // A wildcard locus is shared but not fully designated.
    const recordWildcard = profile({ ...onlyLoci(six), TH01: [6, "*"], FGA: [21, 23] });
    expect(compareDna(query, recordWildcard)).toMatchObject({ outcome: "not_comparable", comparedLoci: 6 });
  });

  it("a near match needs 6 fully designated loci that agree", () => {
    const six = ["D3S1358", "VWA", "D8S1179", "D21S11", "D18S51", "TH01"];
    const query = profile(onlyLoci(six));
    const record = profile(onlyLoci(six, withLoci({ VWA: [17, 19] })));
    expect(compareDna(query, record)).toEqual({ outcome: "no_match", comparedLoci: 6, mismatchedAlleles: 1 });
    const seven = [...six, "FGA"];
    expect(compareDna(profile(onlyLoci(seven)), profile(onlyLoci(seven, withLoci({ VWA: [17, 19] })))).outcome).toBe("near_match");
  });

  it("AMEL is neither compared nor counted", () => {
    const female = profile(withLoci({ AMEL: ["X"] }));
    expect(compareDna(base, female)).toEqual({ outcome: "full_match", comparedLoci: 12, mismatchedAlleles: 0 });
    const five = onlyLoci(["D3S1358", "VWA", "D8S1179", "D21S11", "D18S51", "AMEL"]);
    const query = profile({ ...five, TH01: [6, 9.3] });
    const record = profile({ ...five, FGA: [21, 23] });
    expect(compareDna(query, record)).toEqual({ outcome: "not_comparable", comparedLoci: 5, mismatchedAlleles: 0 });
  });

  it("is symmetric", () => {
    const other = profile(withLoci({ VWA: [17], FGA: [21, "*"] }));
    expect(compareDna(base, other)).toEqual(compareDna(other, base));
  });
});

describe("proto codec", () => {
  it("round-trips a canonical profile", () => {
    const parsed = profile(withLoci({ FGA: [21, "*"], VWA: [17] }));
    const proto = dnaToProto(parsed);
    expect(proto.D21S11).toBe("29,30.2");
    expect(proto.VWA).toBe("17");
    expect(proto.FGA).toBe("21,*");
    expect(proto.AMEL).toBe("X,Y");
    expect(dnaFromProto(proto)).toEqual(parsed);
  });

  it("validates what it decodes", () => {
    expect(() => dnaFromProto({ ...dnaToProto(profile(ESS_PROFILE)), VWA: "17,18,19" })).toThrow(/mixture at locus VWA/);
    expect(() => dnaFromProto({ ...dnaToProto(profile(ESS_PROFILE)), VWA: "" })).toThrow(WatchmeshError);
  });
});

// --- blocking keys -------------------------------------------------------------------------------


function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function shuffled<T>(random: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** A random profile over a random subset of loci (6..23); a small allele range makes matches common. */
function randomRawProfile(random: () => number): Record<string, (number | string)[]> {
  const count = 6 + Math.floor(random() * (DNA_LOCI.length - 5));
  const raw: Record<string, (number | string)[]> = {};
  for (const locus of shuffled(random, DNA_LOCI).slice(0, count)) {
    const a = 10 + Math.floor(random() * 4);
    raw[locus] = random() < 0.2 ? [a] : [a, 10 + Math.floor(random() * 4)];
  }
  return raw;
}

/** A variant of `raw`: loci dropped/added, one allele changed, wildcards, homozygous rewrites. */
function relatedRawProfile(random: () => number, raw: Record<string, (number | string)[]>): Record<string, (number | string)[]> {
  const out: Record<string, (number | string)[]> = {};
  for (const [locus, alleles] of Object.entries(raw)) {
    if (random() < 0.3) continue;
    let copy = [...alleles];
    if (copy.length === 2 && copy[0] === copy[1]) copy = [copy[0] as number];
    else if (copy.length === 1 && random() < 0.5) copy = [copy[0] as number, copy[0] as number];
    if (random() < 0.1) copy = [copy[0] as number, "*"];
    out[locus] = copy;
  }
  for (const locus of DNA_LOCI) {
    if (!(locus in raw) && random() < 0.2) out[locus] = [10 + Math.floor(random() * 4), 10 + Math.floor(random() * 4)];
  }
  if (random() < 0.7) {
    const locus = pick(random, Object.keys(out));
    const alleles = out[locus] ?? [];
    const index = Math.floor(random() * alleles.length);
    const allele = alleles[index];
    if (typeof allele === "number") alleles[index] = allele + 1 + Math.floor(random() * 3);
  }
  return out;
}

function tryProfile(raw: Record<string, unknown>): DnaProfile | undefined {
  try {
    return parseDnaProfile(raw);
  } catch {
    return undefined;
  }
}

describe("dnaBlockingKeys", () => {
  it("puts every matching locus in exactly one blocking group, five groups", () => {
    expect(DNA_BLOCKING_GROUPS).toHaveLength(5);
    const grouped = DNA_BLOCKING_GROUPS.flat();
    expect([...grouped].sort()).toEqual([...DNA_LOCI].sort());
    expect(new Set(grouped).size).toBe(grouped.length);
  });

  it("keeps the key count small for common kits", () => {
    expect(dnaBlockingKeys(profile(ESS_PROFILE))).toHaveLength(9);
    const allLoci = Object.fromEntries(DNA_LOCI.map((locus) => [locus, [11, 12]]));
    expect(dnaBlockingKeys(profile(allLoci))).toHaveLength(42);
    const oldEss: DnaLocus[] = ["D3S1358", "VWA", "D8S1179", "D21S11", "D18S51", "TH01", "FGA"];
    expect(dnaBlockingKeys(profile(onlyLoci(oldEss)))).toHaveLength(2);
    expect(ESS_LOCI.every((locus) => DNA_BLOCKING_GROUPS.some((group) => group.includes(locus)))).toBe(true);
  });

  it("writes genotypes canonically and skips wildcard loci", () => {
    const homozygous = dnaBlockingKeys(profile(withLoci({ D3S1358: [15] })));
    expect(homozygous).toContain("D3S1358=15,15+FGA=21,23");
    expect(dnaBlockingKeys(profile(withLoci({ D3S1358: ["15", 15] })))).toEqual(homozygous);
    const wildcard = dnaBlockingKeys(profile(withLoci({ D3S1358: [15, "*"] })));
    expect(wildcard.some((key) => key.includes("D3S1358"))).toBe(false);
  });

  it("every full or near match shares a key (10,000 generated pairs)", () => {
    const random = seededRandom(20240613);
    let matches = 0;
    let nearMatches = 0;
    let keysTotal = 0;
    let profiles = 0;
    for (let i = 0; i < 10_000; i++) {
      const rawQuery = randomRawProfile(random);
      const rawRecord = random() < 0.8 ? relatedRawProfile(random, rawQuery) : randomRawProfile(random);
      const query = tryProfile(rawQuery);
      const record = tryProfile(rawRecord);
      if (!query || !record) continue;
      const { outcome } = compareDna(query, record);
      const queryKeys = dnaBlockingKeys(query);
      keysTotal += queryKeys.length;
      profiles += 1;
      if (outcome !== "full_match" && outcome !== "near_match") continue;
      matches += 1;
      if (outcome === "near_match") nearMatches += 1;
      const recordKeys = new Set(dnaBlockingKeys(record));
      const shared = queryKeys.filter((key) => recordKeys.has(key));
      if (shared.length === 0) expect.fail(`no shared key for a ${outcome}: ${JSON.stringify({ rawQuery, rawRecord })}`);
    }
    // The generator must actually exercise both outcomes.
    expect(matches).toBeGreaterThan(1000);
    expect(nearMatches).toBeGreaterThan(500);
    expect(keysTotal / profiles).toBeLessThan(30);
  });

  it("finds matches whose shared loci are any 6 loci", () => {
    const random = seededRandom(7);
    for (let i = 0; i < 2000; i++) {
      const shared = shuffled(random, DNA_LOCI).slice(0, 6);
      const genotype = (): number[] => [5 + Math.floor(random() * 20), 5 + Math.floor(random() * 20)];
      const common = Object.fromEntries(shared.map((locus) => [locus, genotype()]));
      const rest = DNA_LOCI.filter((locus) => !shared.includes(locus));
      const [onlyQuery, onlyRecord] = [rest.slice(0, 8), rest.slice(8)];
      const query = profile({ ...common, ...Object.fromEntries(onlyQuery.map((l) => [l, genotype()])) });
      const record = profile({ ...common, ...Object.fromEntries(onlyRecord.map((l) => [l, genotype()])) });
      expect(compareDna(query, record).outcome).toBe("full_match");
      const recordKeys = new Set(dnaBlockingKeys(record));
      expect(dnaBlockingKeys(query).some((key) => recordKeys.has(key))).toBe(true);
    }
  });
});
