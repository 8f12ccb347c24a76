import { describe, expect, it } from "vitest";
import { analyseToken } from "../../node/matching/names/analyse.ts";
import { addDeletionBuckets, nameTermKeys, NameVocabulary } from "../../node/matching/names/vocabulary.ts";
import { fnv1a } from "../../node/matching/names/pairs.ts";

function vocabularyOf(...names: string[]): NameVocabulary {
  const vocabulary = new NameVocabulary();
  for (const name of names) vocabulary.addName(name);
  return vocabulary;
}

/** The stored texts near a query token, in order. */
function nearTexts(vocabulary: NameVocabulary, text: string): string[] {
  const token = analyseToken(text);
  if (token === undefined) throw new Error(`no token in ${text}`);
  return vocabulary
    .near(token)
    .map((near) => near.entry.token.text)
    .sort();
}

describe("name term keys", () => {
  it("are a code and the token as analysed, one per token of a name", () => {
    const keys = nameTermKeys(["Hans Müller"]);
    expect(keys).toHaveLength(2);
    for (const key of keys) expect(key).toMatch(/^[a-z]+:(hans|müller)$/);
  });

  it("split a fused Han name into surname and given name, and join a particle to its neighbour", () => {
    expect(nameTermKeys(["周丽华"]).map((key) => key.split(":")[1])).toEqual(["周", "丽华"]);
    const texts = nameTermKeys(["Khadija El Idrissi"]).map((key) => key.split(":")[1]);
    expect(texts).toEqual(expect.arrayContaining(["khadija", "idrissi", "elidrissi"]));
    // Two tokens that are neither particles nor short are not joined: a store would hold every full name.
    expect(nameTermKeys(["Hans Müller"]).map((key) => key.split(":")[1])).not.toContain("hansmüller");
  });
});

describe("name vocabulary", () => {
  const vocabulary = vocabularyOf("Hans Müller", "Katarzyna Wiśniewska", "Ευαγγελία Καραγιάννη", "Sergei Pavlov");

  it("finds a stored token one typing error away, a transposition included, and the token itself", () => {
    expect(nearTexts(vocabulary, "Mülker")).toEqual(["müller"]);
    expect(nearTexts(vocabulary, "Müller")).toEqual(["müller"]);
    expect(nearTexts(vocabulary, "Segrei")).toEqual(["sergei"]);
  });

  it("finds a long token two errors away, but no short one", () => {
    expect(nearTexts(vocabulary, "Wisnievskka")).toEqual(["wiśniewska"]);
    expect(nearTexts(vocabulary, "Pavlof")).toEqual(["pavlov"]);
    expect(nearTexts(vocabulary, "Pablof")).toEqual([]);
  });

  it("finds a stored token in another script by its transliteration", () => {
    expect(nearTexts(vocabulary, "Karagianni")).toEqual(["καραγιάννη"]);
  });

  it("gives each found token's score and the code its pair keys carry", () => {
    const [near] = vocabulary.near(analyseToken("Mülker")!);
    expect(near?.score).toBeGreaterThanOrEqual(0.75);
    expect(near?.score).toBeLessThan(1);
    expect(nameTermKeys(["Hans Müller"])).toContain(`${near?.entry.code}:müller`);
  });

  it("finds a token added after a search that missed it, and ignores malformed or repeated keys", () => {
    const growing = vocabularyOf("Hans Müller");
    expect(nearTexts(growing, "Schnieder")).toEqual([]);
    growing.addName("Petra Schneider");
    expect(nearTexts(growing, "Schnieder")).toEqual(["schneider"]);
    const size = growing.size;
    growing.addTermKey("no-colon");
    growing.addTermKey(":");
    growing.addName("Petra Schneider");
    expect(growing.size).toBe(size);
  });
});

describe("name vocabulary across scripts and joined tokens", () => {
  it("finds a token of a script written without most vowels by its consonant skeleton", () => {
    const hebrew = vocabularyOf("יוסף כהן");
    expect(nearTexts(hebrew, "Joseph")).toEqual(["יוסף"]);
    expect(nearTexts(hebrew, "Kohen")).toEqual(["כהן"]);
    // A skeleton alone does not join two Latin spellings: "Kane" is not "Kohen".
    expect(nearTexts(vocabularyOf("Anna Kane"), "Kohen")).toEqual([]);
  });

  it("splits a token written as one into stored terms of at least three letters", () => {
    const vocabulary = vocabularyOf("Jean-Pierre Dupont", "Abd al-Rahman Yusuf");
    const parts = (text: string): string[] =>
      vocabulary
        .splitParts(analyseToken(text)!)
        .map((near) => near.entry.token.text)
        .sort();
    expect(parts("Jeanpierre")).toEqual(["jean", "pierre"]);
    expect(parts("Abdurrahman")).toEqual(["abd", "rahman"]);
    expect(parts("Dupont")).toEqual([]);
    expect(parts("Jeanpaul")).toEqual([]);
  });

  it("looks a token longer than any name up only as it is spelled, without neighbours", () => {
    const long = `${"ab".repeat(20)}c`;
    const vocabulary = vocabularyOf(`Hans ${long}`);
    expect(nearTexts(vocabulary, long)).toEqual([long]);
    expect(nearTexts(vocabulary, `${long}d`)).toEqual([]);
  });
});

describe("addDeletionBuckets", () => {
  /** The neighbourhood as strings: `s` and every string made by deleting up to `depth` code units, never all. */
  function deletionStrings(s: string, depth: number, out = new Set<string>()): Set<string> {
    out.add(s);
    if (depth === 0 || s.length <= 1) return out;
    for (let i = 0; i < s.length; i++) deletionStrings(s.slice(0, i) + s.slice(i + 1), depth - 1, out);
    return out;
  }

  it("gives exactly the buckets of the deletion neighbours as strings, for every depth the vocabulary uses", () => {
    const letters = ["a", "b", "n", "n", "é", "ł", "ß", "й", "😀"];
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
    let cases = 0;
    for (let n = 0; n < 400; n++) {
      const length = Math.floor(random() * 14);
      const s = Array.from({ length }, () => letters[Math.floor(random() * letters.length)]).join("");
      for (const depth of [0, 1, 2]) {
        const buckets = new Set<number>();
        addDeletionBuckets(buckets, s, depth);
        const expected = new Set([...deletionStrings(s, depth)].map((text) => fnv1a(text) >>> 1));
        expect([...buckets].sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
        cases++;
      }
    }
    expect(cases).toBe(1200);
  });
});
