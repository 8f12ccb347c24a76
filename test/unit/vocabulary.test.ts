import { describe, expect, it } from "vitest";
import { analyseToken } from "../../node/matching/names/analyse.ts";
import { nameTermKeys, NameVocabulary } from "../../node/matching/names/vocabulary.ts";

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
