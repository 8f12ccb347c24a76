/**
 * Entity values (phones, e-mail addresses, vehicles, organisations, device components, precursors):
 * canonical forms, LMDB index keys and candidate confirmation.
 *
 * `normaliseEntity` is used on both sides: the store indexes a record under `keys`, the matcher looks a
 * query up under its own `keys`, and `entitiesMatch` confirms each candidate. `keys[0]` is always the
 * exact canonical key; further keys start with "~" and only block candidates (they never prove a match).
 *
 * Errors name the entity type and what is wrong, never the value (values are personal data).
 * Changing any output here changes index keys: re-import stores afterwards.
 */
import anyAscii from "any-ascii";
import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js";
import { domainToASCII } from "node:url";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import type { EntityType } from "../record-schema.ts";

export interface NormaliseEntityOptions {
  /** Country of the record or query, ISO 3166-1 alpha-2 or alpha-3; needed for national phone numbers. */
  readonly defaultRegion?: string;
  /** Code thrown for an invalid value: InvalidRecord (default) on import, InvalidArgument for queries. */
  readonly errorCode?: ErrorCode;
}

export interface NormalisedEntity {
  /** Comparable form of the value; equal canonicals are the same entity. */
  readonly canonical: string;
  /** Index keys: `keys[0]` is the exact canonical key, the rest ("~…") are fuzzy blocking keys. */
  readonly keys: readonly string[];
}

export interface EntityMatch {
  readonly match: boolean;
  /** 0..1 */
  readonly score: number;
  /** Which rules decided, e.g. ["phone_e164"], ["cas_number"], ["organisation_fuzzy"]. */
  readonly features: readonly string[];
}

export interface EntitiesMatchOptions {
  readonly queryRegion?: string;
  readonly recordRegion?: string;
}

function invalidValue(type: EntityType, message: string, options: NormaliseEntityOptions): WatchmeshError {
  return new WatchmeshError(options.errorCode ?? ErrorCode.InvalidRecord, message, {
    context: { field: "value", entityType: type },
  });
}

/** Latin letters only after NFKD + mark removal; other scripts keep their marks (й is not и). */
function foldLatinDiacritics(s: string): string {
  return s
    .normalize("NFKD")
    .replace(/(\p{Script=Latin})\p{M}+/gu, "$1")
    .normalize("NFKC");
}

// ---------------------------------------------------------------------------------------------------
// Phone

/**
 * ISO 3166-1 alpha-3 → alpha-2 for the regions libphonenumber-js knows (generated from the iso-codes
 * package), plus Kosovo (XKX and its own RKS) and the ICAO "D" for Germany.
 */
const ALPHA3_TO_ALPHA2: ReadonlyMap<string, string> = new Map(
  `ABWAW AFGAF AGOAO AIAAI ALAAX ALBAL ANDAD AREAE ARGAR ARMAM ASMAS ATGAG AUSAU AUTAT AZEAZ BDIBI
BELBE BENBJ BESBQ BFABF BGDBD BGRBG BHRBH BHSBS BIHBA BLMBL BLRBY BLZBZ BMUBM BOLBO BRABR BRBBB
BRNBN BTNBT BWABW CAFCF CANCA CCKCC CHECH CHLCL CHNCN CIVCI CMRCM CODCD COGCG COKCK COLCO COMKM
CPVCV CRICR CUBCU CUWCW CXRCX CYMKY CYPCY CZECZ DEUDE DJIDJ DMADM DNKDK DOMDO DZADZ ECUEC EGYEG
ERIER ESHEH ESPES ESTEE ETHET FINFI FJIFJ FLKFK FRAFR FROFO FSMFM GABGA GBRGB GEOGE GGYGG GHAGH
GIBGI GINGN GLPGP GMBGM GNBGW GNQGQ GRCGR GRDGD GRLGL GTMGT GUFGF GUMGU GUYGY HKGHK HNDHN HRVHR
HTIHT HUNHU IDNID IMNIM INDIN IOTIO IRLIE IRNIR IRQIQ ISLIS ISRIL ITAIT JAMJM JEYJE JORJO JPNJP
KAZKZ KENKE KGZKG KHMKH KIRKI KNAKN KORKR KWTKW LAOLA LBNLB LBRLR LBYLY LCALC LIELI LKALK LSOLS
LTULT LUXLU LVALV MACMO MAFMF MARMA MCOMC MDAMD MDGMG MDVMV MEXMX MHLMH MKDMK MLIML MLTMT MMRMM
MNEME MNGMN MNPMP MOZMZ MRTMR MSRMS MTQMQ MUSMU MWIMW MYSMY MYTYT NAMNA NCLNC NERNE NFKNF NGANG
NICNI NIUNU NLDNL NORNO NPLNP NRUNR NZLNZ OMNOM PAKPK PANPA PERPE PHLPH PLWPW PNGPG POLPL PRIPR
PRKKP PRTPT PRYPY PSEPS PYFPF QATQA REURE ROURO RUSRU RWARW SAUSA SDNSD SENSN SGPSG SHNSH SJMSJ
SLBSB SLESL SLVSV SMRSM SOMSO SPMPM SRBRS SSDSS STPST SURSR SVKSK SVNSI SWESE SWZSZ SXMSX SYCSC
SYRSY TCATC TCDTD TGOTG THATH TJKTJ TKLTK TKMTM TLSTL TONTO TTOTT TUNTN TURTR TUVTV TWNTW TZATZ
UGAUG UKRUA URYUY USAUS UZBUZ VATVA VCTVC VENVE VGBVG VIRVI VNMVN VUTVU WLFWF WSMWS YEMYE ZAFZA
ZMBZM ZWEZW XKXXK RKSXK`
    .split(/\s+/)
    .map((pair) => [pair.slice(0, 3), pair.slice(3)] as const)
    .concat([["D", "DE"]]),
);
const ALPHA2_CODES: ReadonlySet<string> = new Set(ALPHA3_TO_ALPHA2.values());

/** Alpha-2 region for libphonenumber-js, or undefined when the country is absent or unknown. */
export function phoneRegion(country: string | undefined): CountryCode | undefined {
  const code = (country ?? "").trim().toUpperCase();
  const alpha2 = code.length === 2 ? code : ALPHA3_TO_ALPHA2.get(code);
  return alpha2 !== undefined && ALPHA2_CODES.has(alpha2) ? (alpha2 as CountryCode) : undefined;
}

/**
 * E.164. A national number needs the default region; without one, "00" is read as the international
 * prefix (ITU-T E.164 recommends it and nearly every country uses it). Extensions are dropped. Numbers of
 * an impossible length for their country are rejected; numbers in ranges the metadata does not know yet
 * are accepted (police data must not be lost to stale metadata).
 */
function normalisePhone(value: string, options: NormaliseEntityOptions): NormalisedEntity {
  const text = value.normalize("NFKC").trim();
  const region = phoneRegion(options.defaultRegion);
  let international = /^\(?\+/.test(text);
  let input = text;
  if (!international && region === undefined) {
    const digits = text.replace(/[^0-9]/g, "");
    if (!digits.startsWith("00")) throw invalidValue("phone", "phone number needs a country code", options);
    input = `+${digits.slice(2)}`;
    international = true;
  }
  const parsed = parsePhoneNumberFromString(input, international ? undefined : region);
  if (parsed === undefined || !parsed.isPossible()) {
    throw invalidValue("phone", "phone number is not a possible number for its country", options);
  }
  const canonical = parsed.number;
  return { canonical, keys: [canonical, `~nsn:${parsed.nationalNumber}`] };
}

// ---------------------------------------------------------------------------------------------------
// E-mail

const LOCAL_PART = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~.-]+$/u;
const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
/** Providers known to ignore dots in the local part; googlemail.com is an alias of gmail.com. */
const DOT_BLIND_DOMAINS: ReadonlySet<string> = new Set(["gmail.com", "googlemail.com"]);

/**
 * Trimmed; domain lower-cased and converted to ASCII (IDNA); local part lower-cased too — RFC 5321 lets a
 * server treat case as significant, but no large provider does, and missing a hit costs more than a
 * candidate the engine then confirms. Quoted local parts and IP-literal domains are rejected.
 *
 * The fuzzy key "~mailbox:" drops a "+tag" (sub-addressing) for every domain and, for gmail only, dots
 * in the local part, with googlemail.com read as gmail.com.
 */
function normaliseEmail(value: string, options: NormaliseEntityOptions): NormalisedEntity {
  const text = value.normalize("NFKC").trim();
  const at = text.lastIndexOf("@");
  const local = text.slice(0, at).toLowerCase();
  const domain = at < 0 ? "" : domainToASCII(text.slice(at + 1).toLowerCase().replace(/\.$/, ""));
  const labels = domain.split(".");
  const valid =
    at > 0 &&
    local.length <= 64 &&
    LOCAL_PART.test(local) &&
    !local.startsWith(".") &&
    !local.endsWith(".") &&
    !local.includes("..") &&
    domain.length <= 253 &&
    labels.length >= 2 &&
    labels.every((l) => DOMAIN_LABEL.test(l)) &&
    /^(?:[a-z]{2,63}|xn--[a-z0-9-]+)$/.test(labels[labels.length - 1] ?? "");
  if (!valid) throw invalidValue("email", "email address is invalid", options);
  const canonical = `${local}@${domain}`;
  const mailboxDomain = domain === "googlemail.com" ? "gmail.com" : domain;
  let mailbox = local.replace(/\+.*$/, "");
  if (DOT_BLIND_DOMAINS.has(domain)) mailbox = mailbox.replace(/\./g, "");
  if (mailbox === "") mailbox = local;
  return { canonical, keys: [canonical, `~mailbox:${mailbox}@${mailboxDomain}`] };
}

// ---------------------------------------------------------------------------------------------------
// Vehicle

/**
 * Capitals of Cyrillic (RU, UA, BG, RS…) and Greek plates that look like Latin ones; cameras and people
 * read plates in either alphabet, so both meet on the Latin form.
 */
const PLATE_HOMOGLYPHS: Readonly<Record<string, string>> = {
  А: "A", В: "B", Е: "E", К: "K", М: "M", Н: "H", О: "O", Р: "P", С: "C", Т: "T", У: "Y", Х: "X", І: "I", Ј: "J", Ѕ: "S",
  Α: "A", Β: "B", Ε: "E", Ζ: "Z", Η: "H", Ι: "I", Κ: "K", Μ: "M", Ν: "N", Ο: "O", Ρ: "P", Τ: "T", Υ: "Y", Χ: "X",
};
const PLATE_HOMOGLYPH_PATTERN = new RegExp(`[${Object.keys(PLATE_HOMOGLYPHS).join("")}]`, "gu");

/** Plate characters people and ANPR cameras confuse; used only for the fuzzy plate key. */
const PLATE_LOOK_ALIKES: Readonly<Record<string, string>> = { O: "0", Q: "0", D: "0", I: "1", L: "1", Z: "2", S: "5", B: "8", G: "6" };

const VIN_LENGTH = 17;
const MAX_PLATE_LENGTH = 12;
const VIN_VALUES: Readonly<Record<string, number>> = {
  A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9, S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9,
};
const VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2] as const;

/** ISO 3779 / 49 CFR 565.15 check digit (position 9) of a 17-character VIN: "0"–"9" or "X". */
export function vinCheckDigit(vin: string): string {
  let sum = 0;
  for (let i = 0; i < VIN_LENGTH; i++) {
    const c = vin.charAt(i);
    const value = c >= "0" && c <= "9" ? Number(c) : (VIN_VALUES[c] ?? 0);
    sum += value * (VIN_WEIGHTS[i] ?? 0);
  }
  const remainder = sum % 11;
  return remainder === 10 ? "X" : String(remainder);
}

/**
 * A 17-character value of Latin letters and digits is a VIN, anything of 1–12 letters or digits a plate
 * (other scripts kept: Chinese plates start with a province character; Arabic-Indic digits become 0–9,
 * Cyrillic and Greek look-alikes Latin). In a VIN, I/O/Q (which ISO 3779
 * excludes precisely because they look like 1/0) are read as 1/0/0. The check digit is mandatory only for
 * North-American VINs (world manufacturer identifier starting 1–5: USA, Canada, Mexico); there a wrong
 * one is rejected. Elsewhere position 9 is free and never checked.
 */
function normaliseVehicle(value: string, options: NormaliseEntityOptions): NormalisedEntity {
  const compact = value
    .normalize("NFKC")
    .toUpperCase()
    .replace(PLATE_HOMOGLYPH_PATTERN, (c) => PLATE_HOMOGLYPHS[c] ?? c)
    // Arabic-Indic and Eastern Arabic-Indic digits; both blocks start at a multiple of 16.
    .replace(/[\u0660-\u0669\u06F0-\u06F9]/g, (c) => String(c.charCodeAt(0) % 16))
    .replace(/[^\p{L}\p{N}]+/gu, "");
  if (compact.length === VIN_LENGTH && /^[A-Z0-9]+$/.test(compact)) {
    const vin = compact.replace(/[IOQ]/g, (c) => (c === "I" ? "1" : "0"));
    if (/^[1-5]/.test(vin) && vinCheckDigit(vin) !== vin.charAt(8)) {
      throw invalidValue("vehicle", "vehicle VIN check digit is wrong", options);
    }
    const canonical = `VIN:${vin}`;
    return { canonical, keys: [canonical] };
  }
  if (compact.length === 0 || compact.length > MAX_PLATE_LENGTH) {
    throw invalidValue("vehicle", "vehicle identifier is neither a 17-character VIN nor a plate", options);
  }
  const canonical = `PLATE:${compact}`;
  const lookAlike = compact.replace(/[OQDILZSBG]/g, (c) => PLATE_LOOK_ALIKES[c] ?? c);
  return { canonical, keys: [canonical, `~plate:${lookAlike}`] };
}

// ---------------------------------------------------------------------------------------------------
// Organisation

/**
 * Legal forms, written as they look after `prepareOrganisation` (lower case, Latin diacritics dropped,
 * dots and apostrophes removed, other punctuation turned into spaces: "S.à r.l." → "sa rl", "A.Ş." → "as",
 * "Sp. z o.o." → "sp z oo"). Stripped at the end of a name, repeatedly ("GmbH & Co. KG"), and never when
 * nothing would be left. Those in `LEADING_LEGAL_FORMS` are stripped at the start too.
 */
const LEGAL_FORMS: readonly string[] = [
  // English-speaking
  "limited", "ltd", "plc", "llc", "llp", "lp", "inc", "incorporated", "corp", "corporation", "co", "company",
  "pty ltd", "pty", "pvt ltd", "pvt", "private limited", "limited liability company", "public limited company", "lc",
  // German-speaking
  "gmbh", "ag", "kg", "ohg", "ug", "ev", "gbr", "kgaa", "mbh", "se", "gesmbh", "gmbh co kg",
  "aktiengesellschaft", "gesellschaft mit beschrankter haftung", "kommanditgesellschaft",
  // French, Belgian, Swiss, Luxembourg
  "sa", "sas", "sasu", "sarl", "sa rl", "eurl", "snc", "sca", "sprl", "srl", "sci", "scs",
  "societe anonyme", "societe a responsabilite limitee", "societe par actions simplifiee",
  // Italian, Spanish, Portuguese, Latin American
  "spa", "s p a", "srls", "sapa", "sl", "slu", "sll", "ltda", "sa de cv", "s de rl", "s de rl de cv", "lda", "eireli", "me",
  "societa per azioni", "sociedad anonima", "sociedad limitada",
  // Dutch, Nordic, Baltic
  "bv", "nv", "vof", "cv", "besloten vennootschap", "naamloze vennootschap", "ab", "publ", "as", "asa", "aps", "oy", "oyj", "hf", "ehf", "ou", "uab", "sia",
  // Central and Eastern Europe, Balkans, Turkey
  "sp z oo", "sp zoo", "spzoo", "sp j", "sro", "spol s ro", "kft", "zrt", "nyrt", "bt", "doo", "dd", "ad", "ood", "eood",
  "ltd sti", "sti", "as", "tas",
  // Transliterated Cyrillic
  "ooo", "oao", "zao", "pao", "ao", "ip", "tov", "pat", "prat",
  // Cyrillic
  "ооо", "оао", "зао", "пао", "ао", "ип", "тов", "пат", "прат", "ад", "доо", "еоод", "оод",
  // Arabic: company, establishment, limited liability (ذ.م.م), joint-stock (ش.م.ع, ش.م.م, ش.م.ل)
  "شركة", "مؤسسة", "ذمم", "ذ م م", "شمع", "ش م ع", "شمم", "ش م م", "شمل", "ش م ل",
];
/** Forms also written before the name (ООО «Ромашка», شركة …), and the English article. */
const LEADING_LEGAL_FORMS: readonly string[] = [
  "ooo", "oao", "zao", "pao", "ao", "ip", "tov", "pat", "prat",
  "ооо", "оао", "зао", "пао", "ао", "ип", "тов", "пат", "прат",
  "شركة", "مؤسسة", "the",
];

function toSequences(forms: readonly string[]): ReadonlyArray<readonly string[]> {
  return [...new Set(forms)].map((f) => f.split(" ")).sort((a, b) => b.length - a.length);
}
const TRAILING_SEQUENCES = toSequences(LEGAL_FORMS);
const LEADING_SEQUENCES = toSequences(LEADING_LEGAL_FORMS);
/** Chinese and Japanese legal forms are written without spaces, glued to the name. */
const CJK_LEGAL_SUFFIX = /(?:股份有限公司|有限责任公司|有限責任公司|有限公司|公司|株式会社|有限会社)$/u;
const CJK_LEGAL_PREFIX = /^(?:株式会社|有限会社)/u;

/** Words so common in organisation names that a key on them alone would block too many candidates. */
const GENERIC_ORGANISATION_WORDS: ReadonlySet<string> = new Set([
  "and", "und", "et", "of", "de", "la", "le", "der", "die", "das", "international", "trading", "trade", "group",
  "holding", "holdings", "services", "service", "global", "general", "import", "export", "industries", "industry",
  "solutions", "consulting", "logistics", "transport", "management", "investment", "investments", "enterprises",
]);

function prepareOrganisation(value: string): string[] {
  return foldLatinDiacritics(value)
    .toLowerCase()
    .replace(/&/g, " ")
    .replace(/[.'’`´]/g, "")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim()
    .split(" ")
    .filter((t) => t !== "")
    .map((t) => t.replace(CJK_LEGAL_SUFFIX, "").replace(CJK_LEGAL_PREFIX, "") || t);
}

function startsWith(tokens: readonly string[], seq: readonly string[]): boolean {
  return seq.length < tokens.length && seq.every((t, i) => tokens[i] === t);
}

function endsWith(tokens: readonly string[], seq: readonly string[]): boolean {
  const offset = tokens.length - seq.length;
  return offset > 0 && seq.every((t, i) => tokens[offset + i] === t);
}

function stripLegalForms(tokens: readonly string[]): string[] {
  let rest = [...tokens];
  for (let changed = true; changed; ) {
    const trailing = TRAILING_SEQUENCES.find((seq) => endsWith(rest, seq));
    const leading = trailing === undefined ? LEADING_SEQUENCES.find((seq) => startsWith(rest, seq)) : undefined;
    if (trailing !== undefined) rest = rest.slice(0, rest.length - trailing.length);
    else if (leading !== undefined) rest = rest.slice(leading.length);
    changed = trailing !== undefined || leading !== undefined;
  }
  return rest;
}

/** Name tokens in ASCII, legal forms stripped, in written order. */
function organisationTokens(value: string): string[] {
  const stripped = stripLegalForms(prepareOrganisation(value));
  return stripped
    .flatMap((t) =>
      anyAscii(t)
        .toLowerCase()
        .replace(/['`]/g, "") // any-ascii writes Arabic ayn/hamza as apostrophes
        .replace(/[^a-z0-9]+/g, " ")
        .trim()
        .split(" "),
    )
    .filter((t) => t !== "");
}

function consonantSkeleton(s: string): string {
  return s.replace(/[aeiouy\s]/g, "").replace(/(.)\1+/g, "$1");
}

/**
 * Canonical: ASCII tokens without legal forms, sorted. Fuzzy keys: the tokens run together in written
 * order ("~compact:", meets "Alpha Beta" and "AlphaBeta"), the consonant skeleton of the canonical
 * ("~skel:", meets vowel and doubled-letter slips) and each distinctive token of four or more letters
 * ("~tok:", meets added or missing words). Candidates are confirmed with `compareOrganisations`.
 */
function normaliseOrganisation(value: string, options: NormaliseEntityOptions): NormalisedEntity {
  const tokens = organisationTokens(value);
  if (tokens.length === 0) throw invalidValue("organisation", "organisation name has no letters or digits", options);
  const canonical = [...tokens].sort().join(" ");
  const keys = new Set([canonical, `~compact:${tokens.join("")}`]);
  const skeleton = consonantSkeleton(canonical);
  if (skeleton.length >= 3) keys.add(`~skel:${skeleton}`);
  for (const t of tokens) {
    if (t.length >= 4 && !GENERIC_ORGANISATION_WORDS.has(t)) keys.add(`~tok:${t}`);
  }
  return { canonical, keys: [...keys] };
}

/** Similarity at or above which two organisation names are taken as the same organisation. */
export const ORGANISATION_MATCH_THRESHOLD = 0.85;

function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a.charAt(i - 1) === b.charAt(j - 1) ? 0 : 1);
      current.push(Math.min(substitution, (previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function stringSimilarity(a: string, b: string): number {
  const longest = Math.max(a.length, b.length);
  return longest === 0 ? 1 : 1 - levenshtein(a, b) / longest;
}

/** Mean over `from` of each token's best similarity to a token of `to` (Monge–Elkan). */
function mongeElkan(from: readonly string[], to: readonly string[]): number {
  let sum = 0;
  for (const t of from) sum += Math.max(...to.map((u) => stringSimilarity(t, u)));
  return sum / from.length;
}

/**
 * Similarity 0..1 of two organisation names after legal forms, punctuation, diacritics and script are
 * removed: the larger of symmetric Monge–Elkan over tokens (word order and small typos) and edit
 * similarity of the names run together (split or joined words). An empty name scores 0.
 */
export function compareOrganisations(a: string, b: string): number {
  const tokensA = organisationTokens(a);
  const tokensB = organisationTokens(b);
  if (tokensA.length === 0 || tokensB.length === 0) return 0;
  const sortedA = [...tokensA].sort();
  const sortedB = [...tokensB].sort();
  if (sortedA.join(" ") === sortedB.join(" ")) return 1;
  const tokenScore = (mongeElkan(tokensA, tokensB) + mongeElkan(tokensB, tokensA)) / 2;
  const compactScore = stringSimilarity(tokensA.join(""), tokensB.join(""));
  return Math.max(tokenScore, compactScore);
}

// ---------------------------------------------------------------------------------------------------
// Device components and precursors

const CAS_PATTERN = /(?<![\d-])(\d{2,7})-(\d{2})-(\d)(?![\d-])/g;

/** CAS registry number check digit: digits weighted 1, 2, 3… from the right, sum modulo 10. */
export function isValidCasNumber(cas: string): boolean {
  const match = /^(\d{2,7})-(\d{2})-(\d)$/.exec(cas);
  if (match === null) return false;
  const body = (match[1] ?? "") + (match[2] ?? "");
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum += Number(body.charAt(body.length - 1 - i)) * (i + 1);
  return sum % 10 === Number(match[3]);
}

interface Substance {
  readonly name: string;
  readonly cas?: string;
  /** Other designations, as they look after unit normalisation (lower case, Latin diacritics dropped). */
  readonly synonyms: readonly string[];
  /** Precursor abbreviations that only count as the whole designation ("AN 34%", not "an acid"). */
  readonly standalone?: readonly string[];
}

/**
 * Explosives precursors (EU Regulation 2019/1148 annexes and common home-made-explosive ingredients) and
 * a few device components. Synonyms in English, French, German and chemical formulae.
 */
const SUBSTANCES: readonly Substance[] = [
  {
    name: "hydrogen peroxide", cas: "7722-84-1",
    synonyms: ["h2o2", "peroxide of hydrogen", "peroxyde d hydrogene", "eau oxygenee", "wasserstoffperoxid"],
    standalone: ["hp"],
  },
  {
    name: "ammonium nitrate", cas: "6484-52-2",
    synonyms: ["nh4no3", "nitrate d ammonium", "ammoniumnitrat"],
    standalone: ["an"],
  },
  { name: "potassium chlorate", cas: "3811-04-9", synonyms: ["kclo3", "chlorate de potassium", "kaliumchlorat"] },
  { name: "sodium chlorate", cas: "7775-09-9", synonyms: ["naclo3", "chlorate de sodium", "natriumchlorat"] },
  { name: "potassium perchlorate", cas: "7778-74-7", synonyms: ["kclo4", "perchlorate de potassium", "kaliumperchlorat"] },
  { name: "sodium perchlorate", cas: "7601-89-0", synonyms: ["naclo4", "perchlorate de sodium", "natriumperchlorat"] },
  { name: "ammonium perchlorate", cas: "7790-98-9", synonyms: ["nh4clo4", "perchlorate d ammonium", "ammoniumperchlorat"] },
  { name: "potassium nitrate", cas: "7757-79-1", synonyms: ["kno3", "saltpetre", "saltpeter", "nitrate de potassium", "kaliumnitrat"] },
  { name: "sodium nitrate", cas: "7631-99-4", synonyms: ["nano3", "nitrate de sodium", "natriumnitrat"] },
  { name: "calcium nitrate", cas: "10124-37-5", synonyms: ["ca no3 2", "nitrate de calcium", "calciumnitrat"] },
  { name: "calcium ammonium nitrate", cas: "15245-12-2", synonyms: ["can fertiliser", "can fertilizer", "kalkammonsalpeter"] },
  { name: "nitric acid", cas: "7697-37-2", synonyms: ["hno3", "acide nitrique", "salpetersaure"] },
  { name: "sulphuric acid", cas: "7664-93-9", synonyms: ["sulfuric acid", "h2so4", "acide sulfurique", "schwefelsaure"] },
  { name: "nitromethane", cas: "75-52-5", synonyms: ["ch3no2", "nitromethan"] },
  { name: "acetone", cas: "67-64-1", synonyms: ["propanone", "2 propanone", "dimethyl ketone", "aceton"] },
  { name: "hexamine", cas: "100-97-0", synonyms: ["hexamethylenetetramine", "methenamine", "urotropine", "urotropin", "hexamethylentetramin"] },
  { name: "urea nitrate", cas: "124-47-0", synonyms: ["nitrate d uree", "harnstoffnitrat"] },
  { name: "aluminium powder", cas: "7429-90-5", synonyms: ["aluminum powder", "poudre d aluminium", "aluminiumpulver"] },
  { name: "magnesium powder", cas: "7439-95-4", synonyms: ["poudre de magnesium", "magnesiumpulver"] },
  { name: "magnesium nitrate hexahydrate", cas: "13446-18-9", synonyms: ["mg no3 2 6h2o"] },
  // Device components (no CAS number).
  { name: "detonator", synonyms: ["blasting cap", "detonateur", "sprengkapsel", "zunder"] },
  { name: "mobile phone", synonyms: ["cell phone", "cellphone", "mobile telephone", "telephone portable", "handy"] },
  { name: "electric match", synonyms: ["e match", "ematch", "electric igniter", "allumeur electrique"] },
  { name: "timer", synonyms: ["timing device", "minuterie"] },
  { name: "battery", synonyms: ["batteries", "pile", "batterie"] },
];

/** Unit spellings, as whole words after a number. */
const UNIT_SYNONYMS: Readonly<Record<string, string>> = {
  percent: "%", pct: "%", prozent: "%", pourcent: "%",
  l: "l", lt: "l", ltr: "l", liter: "l", liters: "l", litre: "l", litres: "l",
  ml: "ml", millilitre: "ml", milliliter: "ml", millilitres: "ml", milliliters: "ml",
  g: "g", gr: "g", gram: "g", grams: "g", gramme: "g", grammes: "g", gramm: "g",
  kg: "kg", kgs: "kg", kilo: "kg", kilos: "kg", kilogram: "kg", kilograms: "kg", kilogramme: "kg", kilogramm: "kg",
  mg: "mg", milligram: "mg", milligrams: "mg",
  v: "v", volt: "v", volts: "v",
  mah: "mah",
};

/**
 * Lower case, Latin diacritics dropped, decimal commas as points, "35 %" / "35 percent" → "35%",
 * "1,5 litres" → "1.5l", "9 volt" → "9v", other punctuation (formula brackets too) as spaces.
 */
function designationText(value: string): string {
  const text = foldLatinDiacritics(value)
    .toLowerCase()
    .replace(/(\d),(\d)/g, "$1.$2")
    .replace(/[^\p{L}\p{N}%.]+/gu, " ")
    .replace(/\.(?!\d)|(?<!\d)\./g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return text
    .replace(/(\d)\s*(?:%|(?:pour|per) cent\b)/g, "$1%")
    .replace(/(\d(?:\.\d+)?)\s*([a-z]+)\b/g, (whole, number: string, unit: string) => {
      const canonicalUnit = UNIT_SYNONYMS[unit];
      return canonicalUnit === undefined ? whole : `${number}${canonicalUnit}`;
    })
    .replace(/(\d)%\s+(?:w\s*w|v\s*v|w\s*v)\b/g, "$1%");
}

const QUANTITY_TOKEN = /^\d+(?:\.\d+)?(?:%|[a-z]+)?$/;
/** "CAS", "CAS no", "CAS-Nr", "CAS RN" labels in front of a number. */
const CAS_LABEL = /(?<![\p{L}\p{N}])cas(?: (?:no|nr|number|rn))?(?![\p{L}\p{N}])/gu;

interface Designation {
  /** Full designation with synonyms replaced by canonical names. */
  readonly text: string;
  /** `text` without quantities and CAS numbers: what the thing is, not how much or how strong. */
  readonly substance: string;
  /** Valid CAS numbers written in the value plus those implied by a recognised substance name. */
  readonly casNumbers: readonly string[];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const SYNONYM_RULES: ReadonlyArray<{ pattern: RegExp; name: string }> = SUBSTANCES.flatMap((s) =>
  [s.name, ...s.synonyms]
    .sort((a, b) => b.length - a.length)
    .map((synonym) => ({ pattern: new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(synonym)}(?![\\p{L}\\p{N}])`, "gu"), name: s.name })),
).sort((a, b) => b.pattern.source.length - a.pattern.source.length);

function parseDesignation(type: EntityType, value: string, options: NormaliseEntityOptions): Designation {
  const casNumbers = new Set<string>();
  for (const match of value.normalize("NFKC").matchAll(CAS_PATTERN)) {
    if (!isValidCasNumber(match[0])) throw invalidValue(type, `${type} CAS number check digit is wrong`, options);
    casNumbers.add(match[0]);
  }
  let text = designationText(value.normalize("NFKC").replace(CAS_PATTERN, " ")).replace(CAS_LABEL, " ").trim();
  // Replace synonyms by placeholders first so a canonical name is never rewritten by a later rule.
  const found: string[] = [];
  for (const rule of SYNONYM_RULES) {
    text = text.replace(rule.pattern, () => `\uE000${found.push(rule.name) - 1}\uE000`);
  }
  text = text.replace(/\uE000(\d+)\uE000/g, (_, i: string) => found[Number(i)] ?? "");
  const tokens = text.split(" ").filter((t) => t !== "");
  let substanceTokens = tokens.filter((t) => !QUANTITY_TOKEN.test(t));
  const bare = substanceTokens.join(" ");
  const standalone = type === "precursor" ? SUBSTANCES.find((s) => s.standalone?.includes(bare)) : undefined;
  if (standalone !== undefined) {
    substanceTokens = standalone.name.split(" ");
    text = tokens.map((t) => (t === bare ? standalone.name : t)).join(" ");
  }
  const substance = substanceTokens.join(" ");
  for (const s of SUBSTANCES) {
    if (s.cas !== undefined && substance === s.name) casNumbers.add(s.cas);
  }
  const meaningful = /[\p{L}\p{N}]/u.test(text);
  if (!meaningful && casNumbers.size === 0) throw invalidValue(type, `${type} designation has no letters or digits`, options);
  return { text: meaningful ? text : "", substance, casNumbers: [...casNumbers].sort() };
}

/**
 * Canonical: the normalised designation ("hydrogen peroxide 35%"), or "cas:<number>" when the value is
 * only a CAS number. Keys: canonical, then "~cas:<n>" for each CAS number written or implied by the name,
 * then "~sub:<substance>" (the designation without quantities).
 */
function normaliseDesignation(type: EntityType, value: string, options: NormaliseEntityOptions): NormalisedEntity {
  const d = parseDesignation(type, value, options);
  const canonical = d.text !== "" ? d.text : `cas:${d.casNumbers.join(",")}`;
  const keys = new Set([canonical, ...d.casNumbers.map((c) => `~cas:${c}`)]);
  if (d.substance !== "") keys.add(`~sub:${d.substance}`);
  return { canonical, keys: [...keys] };
}

// ---------------------------------------------------------------------------------------------------
// Entry points

/** Canonical form and index keys of an entity value; throws (InvalidRecord by default) for invalid identifiers. */
export function normaliseEntity(type: EntityType, value: string, options: NormaliseEntityOptions = {}): NormalisedEntity {
  switch (type) {
    case "phone":
      return normalisePhone(value, options);
    case "email":
      return normaliseEmail(value, options);
    case "vehicle":
      return normaliseVehicle(value, options);
    case "organisation":
      return normaliseOrganisation(value, options);
    case "device_component":
    case "precursor":
      return normaliseDesignation(type, value, options);
  }
}

const NO_MATCH: EntityMatch = { match: false, score: 0, features: [] };

/** Quantities ("35%", "500ml") of a canonical designation, sorted and joined; "" when none. */
function quantitiesOf(canonical: string): string {
  return canonical
    .split(" ")
    .filter((t) => QUANTITY_TOKEN.test(t))
    .sort()
    .join(" ");
}

function tryNormalise(type: EntityType, value: string, region: string | undefined): NormalisedEntity | undefined {
  try {
    return normaliseEntity(type, value, { defaultRegion: region });
  } catch (error) {
    if (error instanceof WatchmeshError) return undefined;
    throw error;
  }
}

/**
 * Confirms a candidate: does the query value denote the same entity as the record value? An invalid query
 * value throws InvalidArgument; an invalid record value (stored before a rule tightened) never matches.
 */
export function entitiesMatch(
  type: EntityType,
  queryValue: string,
  recordValue: string,
  options: EntitiesMatchOptions = {},
): EntityMatch {
  const query = normaliseEntity(type, queryValue, { defaultRegion: options.queryRegion, errorCode: ErrorCode.InvalidArgument });
  const record = tryNormalise(type, recordValue, options.recordRegion);
  if (record === undefined) return NO_MATCH;
  const exact = query.canonical === record.canonical;
  const sharedKeys = (prefix: string): boolean => query.keys.some((k) => k.startsWith(prefix) && record.keys.includes(k));

  switch (type) {
    case "phone":
      return exact ? { match: true, score: 1, features: ["phone_e164"] } : NO_MATCH;
    case "email":
      if (exact) return { match: true, score: 1, features: ["email_exact"] };
      return sharedKeys("~mailbox:") ? { match: true, score: 0.9, features: ["email_mailbox_alias"] } : NO_MATCH;
    case "vehicle":
      if (exact) return { match: true, score: 1, features: [query.canonical.startsWith("VIN:") ? "vin" : "plate"] };
      return sharedKeys("~plate:") ? { match: true, score: 0.85, features: ["plate_look_alike"] } : NO_MATCH;
    case "organisation": {
      if (exact) return { match: true, score: 1, features: ["organisation_exact"] };
      const score = compareOrganisations(queryValue, recordValue);
      return { match: score >= ORGANISATION_MATCH_THRESHOLD, score, features: ["organisation_fuzzy"] };
    }
    case "device_component":
    case "precursor": {
      if (exact) return { match: true, score: 1, features: ["designation"] };
      const features = [
        ...(sharedKeys("~cas:") ? ["cas_number"] : []),
        ...(sharedKeys("~sub:") ? ["designation"] : []),
      ];
      if (features.length === 0) return NO_MATCH;
      const queryQuantities = quantitiesOf(query.canonical);
      const recordQuantities = quantitiesOf(record.canonical);
      if (queryQuantities !== "" && recordQuantities !== "" && queryQuantities !== recordQuantities) {
        return { match: true, score: 0.8, features: [...features, "quantity_differs"] };
      }
      return { match: true, score: 1, features };
    }
  }
}
