/**
 * Latin-side comparison: alias tables (Mohammed / Muhammad / Mohamed ...), spelling-variant folding
 * (Mueller / Muller, Yevgeniy / Evgeni, Abdurrahman / Abdelrahman), Jaro-Winkler, and the coarse
 * consonant codes used as blocking keys.
 */

/** Groups of spellings of one name; every member maps to the group's first entry. */
const ALIAS_GROUPS: readonly (readonly string[])[] = [
  ["muhammad", "mohammed", "mohamed", "mohammad", "muhammed", "mohamad", "muhamad", "mohamud", "mohammod", "muhammet", "mehmet", "mehmed", "mahomed", "mouhamed", "mouhammad", "mhamed"],
  ["ahmad", "ahmed", "ahmet", "achmed", "ahmat"],
  ["mahmud", "mahmoud", "mahmood", "mahmut"],
  ["husayn", "hussein", "husein", "hussain", "husain", "hossein", "houssein", "huseyin", "hussien"],
  ["hasan", "hassan", "hassane"],
  ["ali", "aly"],
  ["umar", "omar", "omer", "ömer"],
  ["usama", "osama", "oussama", "ussama"],
  ["khalid", "khaled", "halid", "chalid"],
  ["mustafa", "mustapha", "moustafa", "mostafa", "moustapha"],
  ["ibrahim", "ebrahim", "ibraheem", "brahim", "ibragim"],
  ["yusuf", "youssef", "yousef", "yusef", "yousuf", "youssouf", "yussuf"],
  ["abdullah", "abdallah", "abdollah", "abdulla", "abdula"],
  ["abdulaziz", "abdelaziz", "abdalaziz", "abdulazeez"],
  ["uthman", "othman", "osman", "usman", "othmane"],
  ["suleiman", "sulaiman", "suleyman", "sulayman", "soliman", "sleiman"],
  ["ismail", "ismael", "ismayil", "esmail"],
  ["yahya", "yehia", "yahia"],
  ["jafar", "jaafar", "jaffar", "djafar"],
  ["aisha", "aicha", "ayesha", "aysha", "aishah"],
  ["fatima", "fatma", "fatimah", "fatema"],
  ["mariam", "maryam", "meryem", "miriam"],
  ["aleksandr", "alexander", "aleksander", "alexandre", "aleksandar", "oleksandr", "alexandr"],
  ["sergei", "sergey", "sergiy", "serhiy", "sergej", "serguei"],
  ["dmitri", "dmitry", "dmitriy", "dmytro", "dimitri", "dmitrij"],
  ["yevgeni", "evgeny", "yevgeny", "evgeniy", "yevgeniy", "evgenij", "evgenii", "yevhen"],
  ["mikhail", "michail", "mykhailo", "mihail", "mikhael"],
  ["vladimir", "volodymyr", "wladimir", "uladzimir"],
  ["yuri", "yuriy", "yury", "jurij", "iurii", "yurii", "yuriy"],
  ["andrei", "andrey", "andriy", "andrii", "andrej"],
  ["aleksei", "alexei", "alexey", "aleksey", "oleksiy", "oleksii", "alexej"],
  ["nikolai", "nikolay", "mykola", "nicolai", "nikolaj"],
  ["georgi", "georgiy", "georgy", "heorhiy", "georgii"],
  ["pyotr", "petr", "piotr", "petro"],
  ["fyodor", "fedor", "fiodor", "fedir"],
];

/** Tokens that connect or qualify a name rather than name the person; unmatched they cost little. */
const PARTICLE_GROUPS: readonly (readonly string[])[] = [
  ["al", "el", "ul", "ad", "ar", "as", "at", "az", "an", "ash", "ed", "er", "es", "et", "ez", "en"],
  ["bin", "ben", "ibn", "bn", "ebn"],
  ["binti", "bint", "bte", "binte"],
  ["ould", "ould", "wuld", "walad", "ouled", "uld"],
  ["abu", "abou", "abo", "bou", "aboo"],
  ["umm", "um", "oum", "omm"],
  ["van", "von", "vom", "der", "den", "ter", "ten", "de", "del", "della", "di", "da", "du", "dos", "das", "la", "le", "lo", "y", "zu"],
];

const aliasOf = new Map<string, string>();
for (const group of ALIAS_GROUPS) for (const name of group) aliasOf.set(foldSimple(name), foldSimple(group[0] ?? name));
const particleOf = new Map<string, string>();
for (const group of PARTICLE_GROUPS) for (const name of group) particleOf.set(name, group[0] ?? name);

function foldSimple(s: string): string {
  return s.normalize("NFKD").replace(/\p{M}+/gu, "").toLowerCase();
}

/** The canonical spelling of a known name ("mohamed" → "muhammad"), else undefined. */
export function aliasCanonical(folded: string): string | undefined {
  return aliasOf.get(folded);
}

/** Canonical particle ("el" → "al", "ibn" → "bin") or undefined when the token is no particle. */
export function particleCanonical(folded: string): string | undefined {
  return particleOf.get(folded);
}

/** Patronymics (Russian/Ukrainian/Serbian forms): optional parts, like middle names. */
export function isPatronymic(folded: string): boolean {
  return /(ovich|evich|ovych|evych|ovic|evic|ovna|evna|ivna|ichna|inichna)$/.test(folded) && folded.length >= 7;
}

/**
 * Folds spelling variants that carry no distinction in names: doubled letters, umlaut spellings
 * (ue → u), ph/f, kh/h, y/i, w/v, ou/u, c/k before a hard vowel, Russian adjective endings (-iy/-ii → -i),
 * and the Arabic "servant of" compounds (abdel-/abdul-/abdur-/abdal-rahman → abdrahman).
 */
export function spellingVariant(folded: string): string {
  let s = folded
    .replace(/^abd[aeiou]+l(?=[a-z]{3})/, "abd")
    .replace(/^abd[aeiou]+([rsntdz])\1/, "abd$1")
    .replace(/^abd[aeiou]+(?=[rsntdz][a-z]{3})/, "abd");
  s = s
    .replace(/sch/g, "sh")
    .replace(/tch/g, "ch")
    .replace(/dzh|dj|zh/g, "j")
    .replace(/ph/g, "f")
    .replace(/kh/g, "h")
    .replace(/gh/g, "g")
    .replace(/th/g, "t")
    .replace(/dh/g, "d")
    .replace(/ck/g, "k")
    .replace(/q/g, "k")
    .replace(/x/g, "ks")
    .replace(/c(?=[aoukt]|$)/g, "k")
    .replace(/([aou])e/g, "$1")
    .replace(/ou|oo/g, "u")
    .replace(/ee/g, "i")
    .replace(/y/g, "i")
    .replace(/w/g, "v")
    .replace(/(.)\1+/g, "$1")
    .replace(/ij$|ii$/g, "i");
  return s.replace(/(.)\1+/g, "$1");
}

/** Scratch flags of jaroWinkler (names are short; a longer input grows them): no allocation per call. */
let jwScratchA = new Uint8Array(64);
let jwScratchB = new Uint8Array(64);

/** Jaro-Winkler similarity (prefix scale 0.1, up to 4 letters). */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  const window = Math.max(0, Math.floor(Math.max(la, lb) / 2) - 1);
  if (jwScratchA.length < la) jwScratchA = new Uint8Array(la * 2);
  if (jwScratchB.length < lb) jwScratchB = new Uint8Array(lb * 2);
  const matchedA = jwScratchA.fill(0, 0, la);
  const matchedB = jwScratchB.fill(0, 0, lb);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = Math.max(0, i - window);
    const hi = Math.min(lb - 1, i + window);
    for (let j = lo; j <= hi; j++) {
      if (matchedB[j] === 0 && a.charCodeAt(i) === b.charCodeAt(j)) {
        matchedA[i] = 1;
        matchedB[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let t = 0;
  let k = 0;
  for (let i = 0; i < la; i++) {
    if (matchedA[i] === 0) continue;
    while (matchedB[k] === 0) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) t++;
    k++;
  }
  const jaro = (matches / la + matches / lb + (matches - t / 2) / matches) / 3;
  let prefix = 0;
  while (prefix < 4 && prefix < la && prefix < lb && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

/**
 * Score of two folded Latin tokens: 1 equal, 0.97 same alias group, 0.95 same spelling variant, else
 * Jaro-Winkler of the variants scaled so only near-identical long tokens (a typo) reach the threshold.
 */
export function compareLatinTokens(a: string, b: string): number {
  return compareLatinVariants(a, latinVariant(a), b, latinVariant(b));
}

/** The spelling variant of a folded token's canonical alias: what compareLatinVariants compares. */
export function latinVariant(folded: string): string {
  return spellingVariant(aliasCanonical(folded) ?? folded);
}

/** compareLatinTokens on precomputed variants (analysed tokens carry theirs). */
export function compareLatinVariants(a: string, va: string, b: string, vb: string): number {
  if (a === b) return 1;
  if (a === "" || b === "") return 0;
  const ca = aliasCanonical(a);
  if (ca !== undefined && ca === aliasCanonical(b)) return 0.97;
  if (va === vb) return 0.95;
  // Jaro-Winkler rewards a shared prefix: "vladimir" would pass for "vladimirovich". Only near-equal lengths.
  if (Math.abs(va.length - vb.length) > 2) return 0;
  const jw = jaroWinkler(va, vb);
  const shorter = Math.min(va.length, vb.length);
  // One edit in a long token (jw ≈ 0.95+) passes; short tokens need more than Jaro-Winkler can tell.
  const byJaro = shorter >= 5 ? Math.min(0.9, jw * 0.85) : Math.min(0.75, jw * 0.75);
  // Typing errors: one deletion, insertion, substitution or transposition of neighbours.
  const edits = Math.min(editDistanceAtMost2(va, vb), editDistanceAtMost2(a, b));
  const byEdits = edits === 1 ? (shorter >= 5 ? 0.85 : shorter >= 4 ? 0.78 : 0) : edits === 2 && shorter >= 8 ? 0.76 : 0;
  return Math.max(byJaro, byEdits);
}

/** Scratch matrix of editDistanceAtMost2: no allocation per call. */
let editScratch = new Int32Array(1024);

/** Optimal-string-alignment distance (transpositions count once), or 3 when it is above 2. */
function editDistanceAtMost2(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const rows = a.length + 1;
  const cols = b.length + 1;
  if (editScratch.length < rows * cols) editScratch = new Int32Array(rows * cols * 2);
  // Every cell read is written first (row 0, column 0, then row by row), so the scratch needs no clearing.
  const d = editScratch;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    let rowMin = Number.POSITIVE_INFINITY;
    for (let j = 1; j < cols; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let value = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
        value = Math.min(value, d[(i - 2) * cols + j - 2]! + 1);
      }
      d[i * cols + j] = value;
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > 2) return 3;
  }
  return Math.min(3, d[rows * cols - 1]!);
}

const COARSE: Readonly<Record<string, string>> = {
  b: "b", p: "b", f: "b", v: "b",
  c: "k", k: "k", g: "k", q: "k",
  d: "t", t: "t",
  s: "s", z: "s", x: "s", j: "s",
  l: "l", r: "l",
  m: "n", n: "n",
};

/**
 * Coarse consonant code of a folded Latin form (the first `length` classes): b/p/f/v, c/k/g/q, d/t,
 * s/z/x/j, l/r, m/n; vowels, h, w and y dropped, repeats squeezed. "krause" and "kelaosi" → "kls".
 */
export function coarseCode(folded: string, length = 3): string {
  const s = spellingVariant(folded).replace(/ch|sh/g, "s");
  let out = "";
  let last = "";
  for (const c of s) {
    const cls = COARSE[c];
    if (cls === undefined) {
      if (c !== "h") last = "";
      continue;
    }
    if (cls === last) continue;
    out += cls;
    last = cls;
    if (out.length >= length) break;
  }
  return out;
}
