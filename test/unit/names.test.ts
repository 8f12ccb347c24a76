import { describe, expect, it } from "vitest";
import {
  analyseName,
  compareAnalysed,
  compareNames,
  compareNameTokens,
  NAME_MATCH_THRESHOLD,
  nameBlockingKeys,
} from "../../node/matching/names/index.ts";

const T = NAME_MATCH_THRESHOLD;

function score(query: string, record: string): number {
  return compareNames([query], [record]).score;
}

function sharesKey(a: string, b: string): boolean {
  const keys = new Set(nameBlockingKeys(a));
  return nameBlockingKeys(b).some((k) => keys.has(k));
}

describe("analyseName", () => {
  it("keeps the original and splits on spaces, commas and hyphens", () => {
    const a = analyseName("DUPONT, Jean-Pierre");
    expect(a.original).toBe("DUPONT, Jean-Pierre");
    expect(a.tokens.map((t) => t.latin[0])).toEqual(["dupont", "jean", "pierre"]);
    expect(a.tokens.every((t) => t.script === "latin")).toBe(true);
  });

  it("shares the analysis of a repeated token, frozen so that no caller can change it for the others", () => {
    const [first] = analyseName("Владимир Петров").tokens;
    const [again] = analyseName("Владимир Иванов").tokens;
    expect(again).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first?.latin)).toBe(true);
    expect(() => first?.latin.push("x")).toThrow(TypeError);
  });

  it("folds diacritics and special letters", () => {
    expect(analyseName("Müller Łukasz Straße").tokens.map((t) => t.latin[0])).toEqual(["muller", "lukasz", "strasse"]);
  });

  it("detects scripts and transliterates them to Latin", () => {
    const tokens = analyseName("Путин محمد 王 김 トランプ").tokens;
    expect(tokens.map((t) => t.script)).toEqual(["cyrillic", "arabic", "han", "hangul", "kana"]);
    expect(tokens[0]?.latin[0]).toBe("putin");
    expect(tokens[2]?.units).toEqual(["wang"]);
    for (const t of tokens) expect(t.latin.length).toBeGreaterThan(0);
  });

  it("reads Han surnames with their surname pronunciation", () => {
    // 单 is "dan" as a word but "shan" as a surname; 曾 "ceng"/"zeng".
    expect(analyseName("单田芳").tokens[0]?.units[0]).toBe("shan");
    expect(analyseName("曾国藩").tokens[0]?.units[0]).toBe("zeng");
  });

  it("gives particles and patronymics a low weight", () => {
    const weights = analyseName("Abd al-Rahman bin Vladimirovich").tokens.map((t) => t.weight);
    expect(weights[0]).toBe(1);
    expect(weights[1]).toBeLessThan(0.5);
    expect(weights[3]).toBeLessThan(0.5);
    expect(weights[4]).toBeLessThan(0.5);
  });

  it("is JSON-serialisable and compares the same after a round trip", () => {
    const q = analyseName("Vladimir Putin");
    const r = analyseName("Путин Владимир Владимирович");
    const restored = JSON.parse(JSON.stringify(r)) as typeof r;
    expect(compareAnalysed([q], [restored])).toEqual(compareAnalysed([q], [r]));
  });
});

describe("compareNames: Latin forms", () => {
  it("is order-free and reads comma forms", () => {
    expect(score("DUPONT, Jean", "Jean Dupont")).toBe(1);
    expect(score("Dupont Jean", "jean dupont")).toBe(1);
  });

  it("folds diacritics and umlaut spellings", () => {
    for (const [a, b] of [
      ["Hans Müller", "Hans Mueller"],
      ["Hans Müller", "Hans Muller"],
      ["Hans Mueller", "Hans Muller"],
      ["José Álvarez", "Jose Alvarez"],
    ] as const) {
      expect(score(a, b), `${a} / ${b}`).toBeGreaterThanOrEqual(T);
    }
  });

  it("knows alias spellings", () => {
    for (const variant of ["Muhammad", "Mohamed", "Mohammad", "Muhammed"]) {
      expect(score(`Mohammed Hassan`, `${variant} Hasan`), variant).toBeGreaterThanOrEqual(T);
    }
    expect(compareNameTokens("Yevgeniy", "Evgeny")).toBeGreaterThanOrEqual(T);
  });

  it("treats al-/el- and bin/ibn as particles", () => {
    expect(score("Mohammed Al-Masri", "Muhammad el Masri")).toBeGreaterThanOrEqual(T);
    expect(score("Ahmed bin Salem", "Ahmad ibn Salem")).toBeGreaterThanOrEqual(T);
    expect(score("Ahmed Salem", "Ahmad bin Salem")).toBeGreaterThanOrEqual(T);
    expect(score("Abu Bakr Salem", "Abou Bakr Salem")).toBeGreaterThanOrEqual(T);
  });

  it("matches fused, spaced and hyphenated parts", () => {
    expect(score("Abdelrahman Hassan", "Abd al-Rahman Hassan")).toBeGreaterThanOrEqual(T);
    expect(score("Abdurrahman Hassan", "Abd el Rahman Hassan")).toBeGreaterThanOrEqual(T);
    expect(score("Abdulrahman Hassan", "Abdelrahman Hassan")).toBeGreaterThanOrEqual(T);
    expect(score("Jean-Pierre Dupont", "Jeanpierre Dupont")).toBeGreaterThanOrEqual(T);
    expect(score("Jeanpierre Dupont", "Jean Pierre Dupont")).toBeGreaterThanOrEqual(T);
  });

  it("penalises unmatched query tokens more than unmatched record tokens", () => {
    const dropMiddleInQuery = score("Jean Dupont", "Jean Pierre Dupont");
    const extraInQuery = score("Jean Pierre Dupont", "Jean Dupont");
    expect(dropMiddleInQuery).toBeGreaterThanOrEqual(T);
    expect(extraInQuery).toBeLessThan(T);
    expect(dropMiddleInQuery).toBeGreaterThan(extraInQuery);
    const c = compareNames(["Jean Dupont"], ["Jean Pierre Dupont"]);
    expect(c).toMatchObject({ matchedQueryTokens: 2, queryTokens: 2, recordTokens: 3 });
  });

  it("lets a record's patronymic go unmatched", () => {
    expect(score("Vladimir Putin", "Vladimir Vladimirovich Putin")).toBeGreaterThanOrEqual(T);
    expect(score("Vladimir Vladimirovich Putin", "Vladimir Putin")).toBeGreaterThanOrEqual(T);
  });

  it("rejects different names that look alike", () => {
    expect(score("Jean Dupont", "Jacques Dupont")).toBeLessThan(T);
    expect(score("Vladimir Putin", "Vladimir Pupkin")).toBeLessThan(T);
    expect(score("Anna Schmidt", "Hanna Schmitz")).toBeLessThan(T);
    expect(score("Al Bin", "El Ben")).toBe(0); // particles alone name nobody
  });

  it("takes the best of several names and aliases on each side", () => {
    const c = compareNames(["John Smith", "Ivan Petrov"], ["Petrov Ivan Sergeevich", "Иван Петров"]);
    expect(c.score).toBeGreaterThanOrEqual(T);
    expect(compareNames([], ["Ivan Petrov"]).score).toBe(0);
  });
});

describe("compareNames: other scripts", () => {
  const positives: Array<[string, string]> = [
    // Cyrillic, Russian and Ukrainian forms
    ["Владимир Путин", "Vladimir Putin"],
    ["Путин Владимир Владимирович", "Vladimir Putin"],
    ["Михаил Горбачёв", "Mikhail Gorbachev"],
    ["Володимир Зеленський", "Volodymyr Zelenskyy"],
    ["Юлія Тимошенко", "Yulia Tymoshenko"],
    // Arabic
    ["محمد عبد الرحمن", "Mohamed Abdelrahman"],
    ["أسامة بن لادن", "Osama bin Laden"],
    ["صدام حسين", "Saddam Hussein"],
    // Hebrew
    ["גולדה מאיר", "Golda Meir"],
    ["שמעון פרס", "Shimon Peres"],
    ["יצחק רבין", "Yitzhak Rabin"],
    // Greek, Devanagari (any-ascii)
    ["Αλέξης Τσίπρας", "Alexis Tsipras"],
    ["नरेन्द्र मोदी", "Narendra Modi"],
    // Han (pinyin), Hangul, kana
    ["毛泽东", "Mao Zedong"],
    ["习近平", "Xi Jinping"],
    ["김정은", "Kim Jong-un"],
    ["박지성", "Park Ji-sung"],
    ["ドナルド・トランプ", "Donald Trump"],
    ["ミュンスター", "Munster"],
  ];
  for (const [foreign, latin] of positives) {
    it(`${foreign} ~ ${latin}`, () => {
      expect(score(foreign, latin)).toBeGreaterThanOrEqual(T);
      expect(score(latin, foreign)).toBeGreaterThanOrEqual(T);
    });
  }

  it("rejects a different Latin name with the same first letter", () => {
    expect(score("Владимир Путин", "Vladimir Pavlov")).toBeLessThan(T);
    expect(score("صدام حسين", "Salem Hassan")).toBeLessThan(T);
    expect(score("김정은", "Kim Min-jun")).toBeLessThan(T);
    expect(compareNameTokens("ميلر", "morgan")).toBeLessThan(T);
  });

  it("compares two foreign scripts through Latin", () => {
    expect(score("Владимир Путин", "فلاديمير بوتين")).toBeGreaterThanOrEqual(T);
    expect(score("Путин", "Путин")).toBe(1);
  });
});

describe("compareNameTokens", () => {
  it("scores a foreign token against a Latin token in 0..1", () => {
    const s = compareNameTokens("クラウス", "krause");
    expect(s).toBeGreaterThanOrEqual(T);
    expect(s).toBeLessThanOrEqual(1);
    expect(compareNameTokens("クラウス", "kennedy")).toBeLessThan(T);
    expect(compareNameTokens("", "krause")).toBe(0);
  });
});

describe("nameBlockingKeys", () => {
  it("gives short, sorted, distinct keys", () => {
    const keys = nameBlockingKeys("Jean-Pierre DUPONT");
    expect(keys).toEqual([...new Set(keys)].sort());
    for (const k of keys) expect(k.length).toBeLessThanOrEqual(8);
    expect(nameBlockingKeys("")).toEqual([]);
  });

  it("does not spell out the name in a key", () => {
    expect(nameBlockingKeys("Schwarzenegger").join("")).not.toContain("schwarz");
  });

  it("shares a key between true matches across spellings and scripts", () => {
    for (const [a, b] of [
      ["DUPONT, Jean", "Jean Dupont"],
      ["Hans Müller", "Hans Mueller"],
      ["Mohammed Al-Masri", "Muhammad el Masri"],
      ["Abdelrahman Hassan", "Abd al-Rahman Hassan"],
      ["Владимир Путин", "Vladimir Putin"],
      ["Володимир Зеленський", "Volodymyr Zelenskyy"],
      ["محمد عبد الرحمن", "Mohamed Abdelrahman"],
      ["יצחק רבין", "Yitzhak Rabin"],
      ["毛泽东", "Mao Zedong"],
      ["김정은", "Kim Jong-un"],
      ["ドナルド・トランプ", "Donald Trump"],
    ] as const) {
      expect(sharesKey(a, b), `${a} / ${b}`).toBe(true);
    }
  });

  it("keeps unrelated names apart", () => {
    expect(sharesKey("Jean Dupont", "Maria Kowalska")).toBe(false);
  });
});

describe("NAME_MATCH_THRESHOLD", () => {
  it("is a score in (0, 1) that exact names reach and unrelated names do not", () => {
    expect(T).toBeGreaterThan(0);
    expect(T).toBeLessThan(1);
    expect(score("Maria Kowalska", "Maria Kowalska")).toBe(1);
    expect(score("Maria Kowalska", "Jean Dupont")).toBe(0);
  });
});
