import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ErrorCode } from "../../common/errors.ts";
import { mrzCheckDigit } from "../../common/mrz.ts";
import { MAX_HITS_PER_ANSWER } from "../../common/limits.ts";
import { RequestedAction, type PersonQuery } from "../../common/proto.ts";
import { createMatcher, toRequestedAction, type Matcher } from "../../node/matcher.ts";
import type { NativeRecord, PersonRecord } from "../../node/record-schema.ts";
import { codePairs, queryNameKeys } from "../../node/matching/index-keys.ts";
import { nameTokenCodeGroups } from "../../node/matching/names/index.ts";
import { generateSampleRecords } from "../../node/sample-data.ts";
import { RecordStore } from "../../node/store.ts";

let dir: string;
let store: RecordStore;
let matcher: Matcher;

const records: NativeRecord[] = [
  {
    kind: "person",
    id: "DEU-P-1",
    names: ["Hans Müller"],
    dob: "1975-03-14",
    nationality: ["DEU"],
    sex: "M",
    documents: [{ type: "passport", number: "C01X00T47", country: "DEU" }],
    action: "discreet_check",
  },
  { kind: "person", id: "ESP-P-1", names: ["Carmen López García"], dob: "1988", nationality: ["ESP"], action: "arrest" },
  { kind: "person", id: "FRA-P-9", names: ["Jean Dupont"], nationality: ["FRA"] },
  { kind: "person", id: "GRC-P-1", names: ["Παπαδόπουλος Γεώργιος"], dob: "1970-01-02", action: "specific_check" },
  { kind: "person", id: "MAR-P-1", names: ["Mohamed Benali", "محمد بن علي"], dob: "1990-07-20" },
  { kind: "entity", id: "ESP-E-1", type: "phone", value: "+34 612 345 678", links: ["ESP-P-1"] },
  { kind: "entity", id: "UKR-E-1", type: "vehicle", value: "АА 1234 ВВ" },
  { kind: "entity", id: "FRA-E-1", type: "email", value: "Jean.Dupont@Mail.Example" },
];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "wm-match-"));
  store = await RecordStore.open({ path: path.join(dir, "db") });
  await store.applyBatch(records);
  matcher = createMatcher(store);
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function person(q: Partial<PersonQuery>): PersonQuery {
  return { names: [], dob: "", nationality: [], sex: "", documents: [], mrz: [], ...q };
}

const idsOf = (hits: { recordId: string }[]): string[] => hits.map((hit) => hit.recordId);

/** The store, and the index keys read through it (looked up or counted), in order. */
function keysRead(target: RecordStore): { store: RecordStore; read: string[] } {
  const read: string[] = [];
  const counting = new Proxy(target, {
    get(store, property) {
      if (property === "lookupUpTo") return (key: string, limit: number) => (read.push(key), store.lookupUpTo(key, limit));
      if (property === "keyCount") return (key: string) => (read.push(key), store.keyCount(key));
      const value: unknown = Reflect.get(store, property, store);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(store) : value;
    },
  });
  return { store: counting, read };
}

/** The store, and the ids of the records read through it, in order. */
function recordsRead(target: RecordStore): { store: RecordStore; read: string[] } {
  const read: string[] = [];
  const counting = new Proxy(target, {
    get(store, property) {
      if (property === "get") return (id: string) => (read.push(id), store.get(id));
      const value: unknown = Reflect.get(store, property, store);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(store) : value;
    },
  });
  return { store: counting, read };
}

/** How many of the keys read hold nobody. */
const emptyKeyList = (read: readonly string[]): string[] => read.filter((key) => store.lookup(key).length === 0);
const emptyKeys = (read: readonly string[]): number => emptyKeyList(read).length;

describe("matching engine: travel documents", () => {
  it("hits on a normalised number and issuing country", () => {
    const hits = matcher.matchPerson(person({ documents: [{ type: "passport", number: "c01x 00t-47", country: "deu" }] }));
    expect(hits).toEqual([
      { recordId: "DEU-P-1", score: 1, category: "travel_document", action: "discreet_check", matchedFeatures: ["document_number", "document_country"] },
    ]);
  });

  it("does not hit when the issuing country differs, and matches the number alone when none is given", () => {
    expect(matcher.matchPerson(person({ documents: [{ type: "passport", number: "C01X00T47", country: "AUT" }] }))).toEqual([]);
    const hits = matcher.matchPerson(person({ documents: [{ type: "id_card", number: "C01X00T47", country: "" }] }));
    expect(hits).toMatchObject([{ recordId: "DEU-P-1", score: 1, matchedFeatures: ["document_number"] }]);
  });

  it("ignores an unusable country or number", () => {
    expect(matcher.matchPerson(person({ documents: [{ type: "passport", number: "C01X00T47", country: "Germany" }] }))).toEqual([]);
    expect(matcher.matchPerson(person({ documents: [{ type: "passport", number: " - ", country: "DEU" }] }))).toEqual([]);
  });
});

describe("matching engine: names", () => {
  it("hits on name and date of birth", () => {
    const hits = matcher.matchPerson(person({ names: ["Hans Müller"], dob: "1975-03-14" }));
    expect(hits).toMatchObject([{ recordId: "DEU-P-1", category: "person", action: "discreet_check", matchedFeatures: ["name", "dob"] }]);
    expect(hits[0]?.score).toBeGreaterThanOrEqual(0.9);
  });

  it("finds a name with a typing error in one token through its typo pass, which the option turns off", () => {
    // "Mülker" is one letter from "Müller" but has another blocking code: no token pair key joins them.
    const typo = person({ names: ["Hans Mülker"], dob: "1975-03-14" });
    expect(idsOf(matcher.matchPerson(typo))).toEqual(["DEU-P-1"]);
    const withoutTypoPass = createMatcher(store, { typoPass: false });
    expect(withoutTypoPass.matchPerson(typo)).toEqual([]);
    expect(idsOf(withoutTypoPass.matchPerson(person({ names: ["Hans Müller"], dob: "1975-03-14" })))).toEqual(["DEU-P-1"]);
  });

  it("reads in its typo pass only records whose tokens are near the query's, not every namesake born that day", async () => {
    const namesakes = ["Schmidt", "Weber", "Wagner", "Becker", "Hoffmann", "Schulz", "Koch", "Richter", "Klein", "Wolf"];
    await store.applyBatch(namesakes.map((surname, i) => ({ kind: "person", id: `DEU-P-${100 + i}`, names: [`Hans ${surname}`], dob: "1975-03-14" })));
    const { store: counting, read } = recordsRead(store);
    const hits = createMatcher(counting).matchPerson(person({ names: ["Hans Mülker"], dob: "1975-03-14" }));
    expect(idsOf(hits)).toEqual(["DEU-P-1"]);
    expect(read).toEqual(["DEU-P-1"]);
  });

  it("reads year-only records by the stored terms near the query's, not every namesake of its name codes born that year", async () => {
    // Year-only records whose names share a coarse code pair with "Carmen Lopez Garcia" (ESP-P-1, born
    // 1988): a key of two codes and a year held them all.
    const namesakes = ["Colin Garces", "Colin Lopes", "Colin Lopez", "Kilian Grace", "Coleman Albus"];
    const codePairsOf = (name: string) => codePairs(nameTokenCodeGroups(name));
    const codes = new Set(codePairsOf("Carmen Lopez Garcia"));
    for (const name of namesakes) expect(codePairsOf(name).some((pair) => codes.has(pair)), name).toBe(true);
    await store.applyBatch(namesakes.map((name, i) => ({ kind: "person", id: `ESP-P-${200 + i}`, names: [name], dob: "1988" })));
    const { store: counting, read } = recordsRead(store);
    const matcher = createMatcher(counting);
    expect(idsOf(matcher.matchPerson(person({ names: ["Carmen Lopez Garcia"], dob: "1988-11-02" })))).toEqual(["ESP-P-1"]);
    expect(read).toEqual(["ESP-P-1"]);
    // Other spellings and scripts of its terms still find it: a typing error, Cyrillic, a query with a year only.
    expect(idsOf(matcher.matchPerson(person({ names: ["Carmen Lopez Garsia"], dob: "1988-11-02" })))).toEqual(["ESP-P-1"]);
    expect(idsOf(matcher.matchPerson(person({ names: ["Кармен Лопес Гарсия"], dob: "1988-05-01" })))).toEqual(["ESP-P-1"]);
    expect(idsOf(matcher.matchPerson(person({ names: ["Garcia, Carmen"], dob: "1988" })))).toEqual(["ESP-P-1"]);
    // A year-only record written after the matcher read the vocabulary: its terms are read with it.
    await store.applyBatch([{ kind: "person", id: "ESP-P-300", names: ["Ximena Zubizarreta"], dob: "1991" }]);
    expect(idsOf(matcher.matchPerson(person({ names: ["Ximena Zubizaretta"], dob: "1991-02-03" })))).toEqual(["ESP-P-300"]);
  });

  it("loads the store's name vocabulary on warmUp, and reads only what later writes add", async () => {
    let reads = 0;
    const counting = new Proxy(store, {
      get(target, property) {
        if (property === "nameTermsSince") return (generation: number) => (reads++, target.nameTermsSince(generation));
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const warmed = createMatcher(counting);
    // The vocabulary is read at once; the key filter is built after.
    const warming = warmed.warmUp?.();
    expect(reads).toBe(1);
    await warming;
    expect(idsOf(warmed.matchPerson(person({ names: ["Hans Mülker"], dob: "1975-03-14" })))).toEqual(["DEU-P-1"]);
    expect(reads).toBe(1);
    await store.applyBatch([{ kind: "person", id: "DEU-P-8", names: ["Uwe Seeler"], dob: "1936-11-05" }]);
    expect(idsOf(warmed.matchPerson(person({ names: ["Uwe Seelre"], dob: "1936-11-05" })))).toEqual(["DEU-P-8"]);
    expect(reads).toBe(2);
  });

  it("reads no index key that its key filter rules out, and finds what it found without the filter", async () => {
    const filtered = keysRead(store);
    const unfiltered = keysRead(store);
    const withFilter = createMatcher(filtered.store);
    const withoutFilter = createMatcher(unfiltered.store, { keyFilter: false });
    await withFilter.warmUp?.();
    const queries = [
      person({ names: ["Hans Müller"], dob: "1975-03-14" }),
      person({ names: ["Hans Mülker"], dob: "1975-03-14" }),
      person({ names: ["Mohamed Benali"], dob: "1990-07-20", documents: [{ type: "passport", number: "C01X00T47", country: "DEU" }] }),
      // A traveller on no list: every key of the name and date holds nobody.
      person({ names: ["Ingrid Olafsdottir"], dob: "1961-09-09" }),
    ];
    for (const query of queries) expect(withFilter.matchPerson(query)).toEqual(withoutFilter.matchPerson(query));
    expect(emptyKeys(unfiltered.read)).toBeGreaterThan(10);
    // The filter answers "maybe" for about 1% of the keys it never saw, and which ones depends on every
    // key's hash: a bound of a quarter of the empty keys holds for any layout (at 1%, five or more of
    // some twenty come about once in ten million), while a filter left unused reads them all.
    const emptyFiltered = emptyKeyList(filtered.read);
    expect(emptyFiltered.length, `empty keys read through the filter: ${emptyFiltered.join(", ")}`).toBeLessThanOrEqual(
      Math.floor(emptyKeys(unfiltered.read) / 4),
    );
    // It never drops a key that holds records, and reads nothing the unfiltered matcher would not.
    const holding = (read: readonly string[]) => new Set(read.filter((key) => store.lookup(key).length > 0));
    expect(holding(filtered.read)).toEqual(holding(unfiltered.read));
    expect(filtered.read.every((key) => unfiltered.read.includes(key))).toBe(true);
  });

  it("finds a record written after its key filter was built, and filters the store as it is after warmUp", async () => {
    const { store: counting, read } = keysRead(store);
    const filtering = createMatcher(counting);
    await filtering.warmUp?.();
    const query = person({ names: ["Petra Schneider"], dob: "1981-06-30" });
    expect(filtering.matchPerson(query)).toEqual([]);
    expect(emptyKeys(read.splice(0))).toBeLessThanOrEqual(1);
    await store.applyBatch([{ kind: "person", id: "DEU-P-7", names: ["Petra Schneider"], dob: "1981-06-30" }]);
    // The filter was read at an older generation: until it is built again, the store is read without it.
    const stranger = person({ names: ["Ingrid Olafsdottir"], dob: "1961-09-09" });
    expect(idsOf(filtering.matchPerson(query))).toEqual(["DEU-P-7"]);
    expect(filtering.matchPerson(stranger)).toEqual([]);
    expect(emptyKeys(read.splice(0))).toBeGreaterThan(5);
    await filtering.warmUp?.();
    expect(idsOf(filtering.matchPerson(query))).toEqual(["DEU-P-7"]);
    expect(filtering.matchPerson(stranger)).toEqual([]);
    expect(emptyKeys(read.splice(0))).toBeLessThanOrEqual(1);
  });

  it("finds a mistyped name of a record stored after its vocabulary was first read", async () => {
    // "Shcneider" has another code than "Schneider": only the vocabulary joins them.
    const typo = person({ names: ["Petra Shcneider"], dob: "1981-06-30" });
    expect(matcher.matchPerson(typo)).toEqual([]);
    await store.applyBatch([{ kind: "person", id: "DEU-P-7", names: ["Petra Schneider"], dob: "1981-06-30" }]);
    expect(idsOf(matcher.matchPerson(typo))).toEqual(["DEU-P-7"]);
  });

  it("scores a shared nationality higher", () => {
    const plain = matcher.matchPerson(person({ names: ["Hans Müller"], dob: "1975-03-14" }))[0]?.score ?? 0;
    const hits = matcher.matchPerson(person({ names: ["Hans Müller"], dob: "1975-03-14", nationality: ["AUT", "DEU"] }));
    expect(hits).toMatchObject([{ recordId: "DEU-P-1", matchedFeatures: ["name", "dob", "nationality"] }]);
    expect(hits[0]?.score).toBeGreaterThan(plain);
    const foreign = matcher.matchPerson(person({ names: ["Hans Müller"], dob: "1975-03-14", nationality: ["BRA"] }))[0]?.score ?? 0;
    expect(foreign).toBeLessThan(plain);
  });

  it("never hits on a name alone", () => {
    expect(matcher.matchPerson(person({ names: ["Hans Müller"] }))).toEqual([]);
    // The record has no date of birth: nothing can corroborate the name.
    expect(matcher.matchPerson(person({ names: ["Jean Dupont"], dob: "1980-05-01" }))).toEqual([]);
  });

  it("lets a name rare in the node stand without a date of birth, until a second record carries it", async () => {
    const rare = person({ names: ["Zbigniew Brzeczyszczykiewicz"], dob: "1980-05-01" });
    await store.applyBatch([{ kind: "person", id: "POL-P-1", names: ["Zbigniew Brzęczyszczykiewicz"] }]);
    expect(matcher.matchPerson(rare)).toMatchObject([{ recordId: "POL-P-1", matchedFeatures: ["name", "rare_name"] }]);
    // The matcher remembers key counts; a write changes the store's generation, so they are read again.
    const generation = store.generation();
    await store.applyBatch([{ kind: "person", id: "POL-P-2", names: ["Zbigniew Brzęczyszczykiewicz"] }]);
    expect(store.generation()).not.toBe(generation);
    expect(matcher.matchPerson(rare)).toEqual([]);
    await store.applyBatch([{ op: "delete", id: "POL-P-2" }]);
    expect(idsOf(matcher.matchPerson(rare))).toEqual(["POL-P-1"]);
  });

  it("ignores diacritics, case, punctuation and name order", () => {
    for (const name of ["hans muller", "MÜLLER, Hans", "mueller hans", "Hans  Mueller"]) {
      expect(idsOf(matcher.matchPerson(person({ names: [name], dob: "1975-03-14" }))), name).toEqual(["DEU-P-1"]);
    }
    expect(idsOf(matcher.matchPerson(person({ names: ["Garcia Carmen Lopez"], dob: "1988-11-02" })))).toEqual(["ESP-P-1"]);
  });

  it("matches Greek capitals without accents, and Arabic script", () => {
    expect(idsOf(matcher.matchPerson(person({ names: ["ΓΕΩΡΓΙΟΣ ΠΑΠΑΔΟΠΟΥΛΟΣ"], dob: "1970" })))).toEqual(["GRC-P-1"]);
    expect(idsOf(matcher.matchPerson(person({ names: ["مُحَمَّد بن علي"], dob: "1990-07-20" })))).toEqual(["MAR-P-1"]);
  });

  it("compares dates of birth at the precision both sides share", () => {
    const dobHits = (dob: string): string[] => idsOf(matcher.matchPerson(person({ names: ["Hans Muller"], dob })));
    expect(dobHits("1975")).toEqual(["DEU-P-1"]);
    expect(dobHits("1975-03")).toEqual(["DEU-P-1"]);
    expect(dobHits("1975-04")).toEqual([]);
    expect(dobHits("1975-03-15")).toEqual([]);
    // ±1 year against year-only data is weak agreement: a hit only with a further agreeing qualifier.
    expect(dobHits("1976")).toEqual([]);
    expect(idsOf(matcher.matchPerson(person({ names: ["Hans Muller"], dob: "1976", nationality: ["DEU"] })))).toEqual(["DEU-P-1"]);
    // Day and month swapped (the record says 14 March): weak too.
    expect(idsOf(matcher.matchPerson(person({ names: ["Hans Muller"], dob: "1975-03-14".replace("03-14", "14-03") })))).toEqual([]);
    expect(dobHits("garbage")).toEqual([]);
    const yearOnly = (dob: string): string[] => idsOf(matcher.matchPerson(person({ names: ["Carmen Lopez Garcia"], dob })));
    expect(yearOnly("1988-11-02")).toEqual(["ESP-P-1"]);
    expect(yearOnly("1989-11-02")).toEqual([]);
    expect(idsOf(matcher.matchPerson(person({ names: ["Carmen Lopez Garcia"], dob: "1989-11-02", nationality: ["ESP"] })))).toEqual(["ESP-P-1"]);
    expect(matcher.matchPerson(person({ names: ["Carmen Lopez Garcia"], dob: "1989-11-02", nationality: ["ESP"] }))[0]?.matchedFeatures).toContain("dob_weak");
  });

  it("reads the keys of a day/month-swapped date only when a qualifier could make its weak agreement a hit", async () => {
    await store.applyBatch([{ kind: "person", id: "ITA-P-1", names: ["Giulia Romano"], dob: "1985-04-07", nationality: ["ITA"], sex: "F" }]);
    const swappedDateKey = (keys: string[]) => keys.some((key) => key.endsWith(":1985-04-07"));
    expect(swappedDateKey(queryNameKeys(["Giulia Romano"], "1985-07-04").dated)).toBe(false);
    expect(swappedDateKey(queryNameKeys(["Giulia Romano"], "1985-07-04", { weakDates: true }).dated)).toBe(true);
    expect(matcher.matchPerson(person({ names: ["Giulia Romano"], dob: "1985-07-04" }))).toEqual([]);
    const qualified = matcher.matchPerson(person({ names: ["Giulia Romano"], dob: "1985-07-04", nationality: ["ITA"], sex: "F" }));
    expect(qualified).toMatchObject([{ recordId: "ITA-P-1", matchedFeatures: ["name", "dob_weak", "nationality", "sex"] }]);
  });

  it("merges document and name hits on one record, keeping the best score", () => {
    const hits = matcher.matchPerson(
      person({ names: ["Hans Müller"], dob: "1975-03-14", documents: [{ type: "passport", number: "C01X00T47", country: "DEU" }] }),
    );
    expect(hits).toEqual([
      {
        recordId: "DEU-P-1",
        score: 1,
        category: "travel_document",
        action: "discreet_check",
        matchedFeatures: ["document_number", "document_country", "name", "dob"],
      },
    ]);
  });

  it("answers no hit for an unknown traveller", () => {
    expect(matcher.matchPerson(person({ names: ["Ingrid Vestergaard"], dob: "1991-07-14", documents: [{ type: "passport", number: "ZZ0000000", country: "DNK" }] }))).toEqual([]);
    expect(matcher.matchPerson(person({}))).toEqual([]);
  });

  it(`returns at most ${MAX_HITS_PER_ANSWER} hits, best first`, async () => {
    const twins: PersonRecord[] = Array.from({ length: MAX_HITS_PER_ANSWER + 5 }, (_, i) => ({
      kind: "person",
      id: `POL-P-${String(i).padStart(3, "0")}`,
      names: ["Anna Nowak"],
      dob: "1990-01-01",
      nationality: [i % 2 === 0 ? "POL" : "DEU"],
    }));
    await store.applyBatch(twins);
    const hits = matcher.matchPerson(person({ names: ["Anna Nowak"], dob: "1990", nationality: ["POL"] }));
    expect(hits).toHaveLength(MAX_HITS_PER_ANSWER);
    // The 13 sharing the nationality come first, then the others.
    const polish = hits.slice(0, 13);
    expect(polish.every((hit) => hit.matchedFeatures.includes("nationality"))).toBe(true);
    expect(Math.min(...polish.map((hit) => hit.score))).toBeGreaterThan(Math.max(...hits.slice(13).map((hit) => hit.score)));
  });

  it("reads only candidates from the index, never every record", async () => {
    await store.applyBatch(generateSampleRecords({ country: "FRA", persons: 400, entities: 0, seed: 3 }));
    const get = vi.spyOn(store, "get");
    matcher.matchPerson(person({ names: ["Hans Müller"], dob: "1975-03-14" }));
    const read = get.mock.calls.map((call) => call[0]);
    expect(read).toContain("DEU-P-1");
    // Blocking keys are deliberately coarse (spelling variants must meet), but only a few records share them.
    expect(read.length).toBeLessThan(20);
    get.mockClear();
    matcher.matchPerson(person({ documents: [{ type: "passport", number: "C01X00T47", country: "DEU" }] }));
    expect(get.mock.calls.map((call) => call[0])).toEqual(["DEU-P-1"]);
  });
});

describe("matching engine: entities", () => {
  it("hits on a normalised phone number", () => {
    for (const value of ["+34612345678", "0034 612 345 678", "(+34) 612-345-678"]) {
      expect(matcher.matchEntity({ type: "phone", value }), value).toMatchObject([
        { recordId: "ESP-E-1", score: 1, category: "entity:phone", action: "inform_owner" },
      ]);
    }
  });

  it("hits on vehicles across look-alike alphabets and on e-mails regardless of case", () => {
    expect(idsOf(matcher.matchEntity({ type: "vehicle", value: "aa1234bb" }))).toEqual(["UKR-E-1"]);
    expect(idsOf(matcher.matchEntity({ type: "email", value: " jean.dupont@mail.example " }))).toEqual(["FRA-E-1"]);
  });

  it("does not hit on an unknown value, and refuses unknown types and invalid identifiers with a typed error", () => {
    expect(matcher.matchEntity({ type: "phone", value: "+34612345679" })).toEqual([]);
    expect(() => matcher.matchEntity({ type: "email", value: "+34612345678" })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(() => matcher.matchEntity({ type: "bitcoin", value: "+34612345678" })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(() => matcher.matchEntity({ type: "phone", value: "" })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
  });
});

describe("toRequestedAction", () => {
  it("maps every record action to the wire enum", () => {
    expect(toRequestedAction("discreet_check")).toBe(RequestedAction.DiscreetCheck);
    expect(toRequestedAction("specific_check")).toBe(RequestedAction.SpecificCheck);
    expect(toRequestedAction("arrest")).toBe(RequestedAction.Arrest);
    expect(toRequestedAction("inform_owner")).toBe(RequestedAction.InformOwner);
  });
});

describe("matching engine: DNA and MRZ", () => {
  const dna = {
    D3S1358: [15, 16], VWA: [17, 18], D8S1179: [13, 14], D21S11: [29, 30.2], D18S51: [14, 17], TH01: [6, 9.3],
    FGA: [21, 23], D1S1656: [12, 15.3], D2S441: [10, 11], D10S1248: [13, 15], D12S391: [18, 20], D22S1045: [15, 16],
  };
  const loci = (profile: Record<string, (number | string)[]>): Record<string, string> =>
    Object.fromEntries(Object.entries(profile).map(([locus, alleles]) => [locus, alleles.join(",")]));

  it("finds a DNA profile by the Prüm rules: full match, near match, no match", async () => {
    await store.upsert({ kind: "person", id: "NLD-P-DNA", names: ["Unknown Donor"], dna, action: "specific_check" });
    const full = matcher.matchPerson(person({ dna: { loci: loci(dna), markerSet: "" } }));
    expect(full).toMatchObject([{ recordId: "NLD-P-DNA", category: "dna", score: 1, matchedFeatures: ["dna"] }]);
    const near = matcher.matchPerson(person({ dna: { loci: loci({ ...dna, FGA: [21, 24] }), markerSet: "" } }));
    expect(near).toMatchObject([{ recordId: "NLD-P-DNA", matchedFeatures: ["dna_near_match"] }]);
    expect(near[0]?.score).toBeLessThan(1);
    const none = matcher.matchPerson(person({ dna: { loci: loci({ ...dna, FGA: [22, 24], TH01: [7, 8] }), markerSet: "" } }));
    expect(none).toEqual([]);
  });

  it("refuses a DNA query that cannot take part, with INVALID_ARGUMENT", () => {
    expect(() => matcher.matchPerson(person({ dna: { loci: { D3S1358: "15,16" }, markerSet: "" } }))).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument }),
    );
  });

  it("searches with an MRZ alone, and refuses one with a wrong check digit naming the field", () => {
    const line1 = "P<D<<MUELLER<<HANS<<<<<<<<<<<<<<<<<<<<<<<<<<";
    const digit = (field: string) => String(mrzCheckDigit(field));
    const [number, birth, expiry, personal] = ["C01X00T47", "750314", "301231", "<".repeat(14)] as const;
    const body = `${number}${digit(number)}D<<${birth}${digit(birth)}M${expiry}${digit(expiry)}${personal}${digit(personal)}`;
    const composite = `${number}${digit(number)}${birth}${digit(birth)}${expiry}${digit(expiry)}${personal}${digit(personal)}`;
    const line2 = `${body}${digit(composite)}`;
    const hits = matcher.matchPerson(person({ mrz: [line1, line2] }));
    expect(idsOf(hits)).toEqual(["DEU-P-1"]);
    expect(hits[0]?.matchedFeatures).toContain("document_number");
    const broken = `${line2.slice(0, 9)}${(Number(line2[9]) + 1) % 10}${line2.slice(10)}`;
    expect(() => matcher.matchPerson(person({ mrz: [line1, broken] }))).toThrow(/check digit for documentNumber/);
  });
});
