/**
 * Deterministic sample records for demos, benchmarks and tests: the same options always give the same
 * records. Names come from `sample-names.ts` (invented combinations of common names) in the scripts
 * people actually write them in; phone numbers, e-mail domains and plates are made up (e-mail domains
 * use the reserved `.example` TLD and example.com/.org/.net).
 */
import { getExampleNumber } from "libphonenumber-js";
import mobileExamples from "libphonenumber-js/examples.mobile.json";
import { COUNTRY_CODE_PATTERN } from "../common/country-codes.ts";
import { seededRandom } from "../common/seeded-random.ts";
import { phoneRegion } from "./matching/entities.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import type { DocumentType, EntityRecord, EntityType, NativeRecord, PersonRecord, RecordAction, RecordDocument, Sex } from "./record-schema.ts";
import { utcDayOf } from "./record-schema.ts";
import { SAMPLE_DESIGNATIONS, sampleRecordedAt } from "./sample-timeline.ts";
import { cultureMixFor, NAME_POOLS, type Culture, type NameForm, type NamePool } from "./sample-names.ts";

export interface SampleOptions {
  /** ISO alpha-3 code of the record-holding country; prefixes the ids. */
  country: string;
  persons: number;
  entities: number;
  seed: number;
  /**
   * "YYYY-MM-DD" (default: today, UTC): records get a recordedAt in the 12 complete months before it
   * (sample-timeline.ts). The only input that is not fixed by default, so that the demo's federated
   * report always covers recent months.
   */
  today?: string;
}


class Random {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = seededRandom(seed);
  }
  float(): number {
    return this.#next();
  }
  int(min: number, maxInclusive: number): number {
    return min + Math.floor(this.#next() * (maxInclusive - min + 1));
  }
  chance(p: number): boolean {
    return this.#next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.#next() * items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }
  weighted<T extends string>(weights: Partial<Record<T, number>>): T {
    const entries = Object.entries(weights) as [T, number][];
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = this.#next() * total;
    for (const [value, weight] of entries) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return (entries[entries.length - 1] as [T, number])[0];
  }
  chars(alphabet: string, length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.#next() * alphabet.length)];
    return out;
  }
  digits(length: number): string {
    return this.chars("0123456789", length);
  }
}

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const pad6 = (n: number): string => String(n).padStart(6, "0");

/** Id of the sample's `index`-th person (0-based), as generateSampleRecords gives it. */
export function samplePersonId(country: string, index: number): string {
  return `${country}-P-${pad6(index + 1)}`;
}

// ---------------------------------------------------------------------------------------------------
// Persons

interface ChosenName {
  latin: string;
  /** Another customary transliteration of the same name, if the pool has one. */
  latinVariant?: string;
  native?: string;
}

function variantsOf(form: NameForm): string[] {
  return form[0].split("/");
}

function composeName(random: Random, pool: NamePool, sex: "M" | "F"): ChosenName {
  const given = random.pick(sex === "M" ? pool.male : pool.female);
  const surnames: NameForm[] = [];
  for (let i = 0; i < (pool.surnameCount ?? 1); i++) surnames.push(random.pick(pool.surnames));
  const feminine = sex === "F" && pool.feminine ? pool.feminine : (s: string) => s;
  const latinParts = (variant: (form: NameForm) => string): string[] => {
    const surname = surnames.map((form) => feminine(variant(form)));
    return pool.surnameFirst ? [...surname, variant(given)] : [variant(given), ...surname];
  };
  const latin = latinParts((form) => variantsOf(form)[0] ?? form[0]).join(" ");
  const alternative = latinParts((form) => variantsOf(form).at(-1) ?? form[0]).join(" ");
  const chosen: ChosenName = { latin };
  if (alternative !== latin) chosen.latinVariant = alternative;
  if (given[1] !== undefined && surnames.every((form) => form[1] !== undefined)) {
    const nativeSurnames = surnames.map((form) => feminine(form[1] as string));
    const parts = pool.surnameFirst ? [...nativeSurnames, given[1]] : [given[1], ...nativeSurnames];
    chosen.native = parts.join(pool.nativeSeparator ?? " ");
  }
  return chosen;
}

/** The name list of a record: Latin and/or native script, sometimes another transliteration. */
function namesFor(random: Random, chosen: ChosenName): string[] {
  const names: string[] = [];
  if (chosen.native !== undefined) {
    const roll = random.float();
    if (roll < 0.15) names.push(chosen.native); // held only in the original script
    else if (roll < 0.75) names.push(chosen.latin, chosen.native);
    else names.push(chosen.latin);
  } else {
    names.push(chosen.latin);
  }
  if (chosen.latinVariant !== undefined && names.includes(chosen.latin) && random.chance(0.3)) names.push(chosen.latinVariant);
  return names;
}

function dobFor(random: Random): string {
  const year = random.int(1945, 2006);
  const month = random.int(1, 12);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const day = random.int(1, daysInMonth);
  const roll = random.float();
  const mm = String(month).padStart(2, "0");
  if (roll < 0.1) return String(year);
  if (roll < 0.2) return `${year}-${mm}`;
  return `${year}-${mm}-${String(day).padStart(2, "0")}`;
}

/** Plausible (invented) number formats of some issuing states; 2 letters + 7 digits elsewhere. */
function documentNumber(random: Random, country: string, type: DocumentType): string {
  switch (country) {
    case "FRA":
      return type === "id_card" ? random.chars(LETTERS + "0123456789", 9) : `${random.digits(2)}${random.chars(LETTERS, 2)}${random.digits(5)}`;
    case "DEU":
      return `${random.chars("CFGHJK", 1)}${random.chars("CFGHJKLMNPRTVWXYZ0123456789", 8)}`;
    case "ESP":
      return type === "id_card" ? `${random.digits(8)}${random.chars("TRWAGMYFPDXBNJZSQVHLCKE", 1)}` : `${random.chars(LETTERS, 3)}${random.digits(6)}`;
    case "ITA":
      return type === "id_card" ? `CA${random.digits(5)}${random.chars(LETTERS, 2)}` : `${random.chars(LETTERS, 2)}${random.digits(7)}`;
    case "GBR":
    case "USA":
      return random.digits(9);
    case "TUR":
      return `${random.chars("USZ", 1)}${random.digits(8)}`;
    case "UKR":
      return type === "id_card" ? random.digits(9) : `${random.chars("ABEFKMT", 2)}${random.digits(6)}`;
    default:
      return `${random.chars(LETTERS, 2)}${random.digits(7)}`;
  }
}

function documentsFor(random: Random, holderCountry: string, nationality: readonly string[]): RecordDocument[] {
  const roll = random.float();
  const count = roll < 0.35 ? 0 : roll < 0.85 ? 1 : 2;
  const documents: RecordDocument[] = [];
  for (let i = 0; i < count; i++) {
    const type = random.weighted<DocumentType>({ passport: 60, id_card: 30, residence_permit: 5, visa: 5 });
    // Residence permits and visas are issued by the state holding the record, the others by a nationality.
    const country = type === "residence_permit" || type === "visa" ? holderCountry : random.pick(nationality);
    documents.push({ type, number: documentNumber(random, country, type), country });
  }
  return documents;
}

function actionFor(random: Random): RecordAction {
  return random.weighted<RecordAction>({ inform_owner: 70, discreet_check: 15, specific_check: 10, arrest: 5 });
}

interface CountryContext {
  country: string;
  mix: ReturnType<typeof cultureMixFor>;
  /** The culture most of the country's records have. */
  mainCulture: string | undefined;
}

function personRecord(random: Random, context: CountryContext, index: number): PersonRecord {
  const { country } = context;
  const culture = random.weighted<Culture>(context.mix);
  const pool: NamePool = NAME_POOLS[culture];
  const sex: "M" | "F" = random.chance(0.5) ? "M" : "F";
  const names = namesFor(random, composeName(random, pool, sex));
  // People of the country's main culture are mostly its nationals; others half of the time.
  const foreignChoices = pool.countries.filter((code) => code !== country);
  const national = foreignChoices.length === 0 || random.chance(culture === context.mainCulture ? 0.92 : 0.5);
  let nationality: string[];
  if (!national) nationality = [random.pick(foreignChoices)];
  else if (foreignChoices.length > 0 && random.chance(0.05)) nationality = [country, random.pick(foreignChoices)];
  else nationality = [country];
  const record: PersonRecord = {
    kind: "person",
    id: samplePersonId(country, index),
    names,
    dob: dobFor(random),
    nationality,
    documents: documentsFor(random, country, nationality),
    action: actionFor(random),
  };
  // Sex is missing from some sources; "X" is rare.
  const sexRoll = random.float();
  if (sexRoll < 0.9) record.sex = sex;
  else if (sexRoll < 0.905) record.sex = "X" satisfies Sex;
  return record;
}

// ---------------------------------------------------------------------------------------------------
// Entities

/**
 * A made-up number in the country's mobile numbering plan: libphonenumber's example mobile number for
 * the country with its subscriber digits replaced, so the number has a possible length and prefix.
 * Countries without an example get an international freephone number (+800).
 */
function phoneNumber(random: Random, country: string): string {
  const region = phoneRegion(country);
  const example = region === undefined ? undefined : getExampleNumber(region, mobileExamples);
  const code = example?.countryCallingCode ?? "800";
  const national = example?.nationalNumber ?? "12345678";
  const keep = Math.min(3, national.length - 4);
  const subscriber = national.slice(0, keep) + random.digits(national.length - keep);
  // Written as people write them: international with spaces, with 00, or compact.
  const style = random.float();
  if (style < 0.6) return `+${code} ${subscriber.slice(0, 3)} ${subscriber.slice(3, 6)} ${subscriber.slice(6)}`.trim();
  if (style < 0.8) return `00${code} ${subscriber.slice(0, 3)}-${subscriber.slice(3)}`;
  return `+${code}${subscriber}`;
}

const EMAIL_DOMAINS = ["mail.example", "post.example", "webmail.example", "example.com", "example.org", "example.net"];
const HANDLE_WORDS = ["falcon", "shadow", "river", "nomad", "tiger", "storm", "silver", "wolf", "atlas", "echo", "orion", "raven"];

function asciiOf(s: string): string {
  return s
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/ß/g, "ss")
    .replace(/ł/g, "l")
    .replace(/ı/g, "i")
    .replace(/[^a-z0-9]+/g, "");
}

function emailAddress(random: Random, country: string): string {
  const domain = random.pick(EMAIL_DOMAINS);
  if (random.chance(0.3)) return `${random.pick(HANDLE_WORDS)}.${random.pick(HANDLE_WORDS)}${random.digits(2)}@${domain}`;
  const pool = NAME_POOLS[random.weighted<Culture>(cultureMixFor(country))];
  const given = variantsOf(random.pick(random.chance(0.5) ? pool.male : pool.female))[0] ?? "user";
  const surname = variantsOf(random.pick(pool.surnames))[0] ?? "mail";
  const local = `${asciiOf(given)}.${asciiOf(surname)}${random.chance(0.5) ? random.digits(2) : ""}`;
  // Some are written with capitals; normalisation makes them equal.
  return random.chance(0.15) ? `${local.charAt(0).toUpperCase()}${local.slice(1)}@${domain.toUpperCase()}` : `${local}@${domain}`;
}

const VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"; // no I, O, Q
const PLATE_CYRILLIC = "АВЕІКМНОРСТХ"; // letters Ukrainian plates share with Latin

function vehicle(random: Random, country: string): string {
  if (random.chance(0.4)) return `${random.pick(["WVW", "WBA", "VF1", "VF3", "ZFA", "VSS", "TMB", "SAL", "JHM", "NM0"])}${random.chars(VIN_ALPHABET, 14)}`;
  switch (country) {
    case "FRA":
      return `${random.chars(LETTERS, 2)}-${random.digits(3)}-${random.chars(LETTERS, 2)}`;
    case "DEU":
      return `${random.pick(["B", "M", "HH", "K", "F", "S", "KA", "DO"])}-${random.chars(LETTERS, random.int(1, 2))} ${random.int(1, 9999)}`;
    case "ESP":
      return `${random.digits(4)} ${random.chars("BCDFGHJKLMNPRSTVWXYZ", 3)}`;
    case "ITA":
      return `${random.chars(LETTERS, 2)} ${random.digits(3)}${random.chars(LETTERS, 2)}`;
    case "TUR":
      return `${String(random.int(1, 81)).padStart(2, "0")} ${random.chars(LETTERS, random.int(1, 3))} ${random.digits(3)}`;
    case "UKR":
      // Ukrainian plates use Cyrillic letters that look Latin; either spelling must match.
      return random.chance(0.5)
        ? `${random.chars(PLATE_CYRILLIC, 2)} ${random.digits(4)} ${random.chars(PLATE_CYRILLIC, 2)}`
        : `${random.chars("ABCEHIKMOPTX", 2)}${random.digits(4)}${random.chars("ABCEHIKMOPTX", 2)}`;
    case "POL":
      return `${random.pick(["WA", "KR", "PO", "GD", "WR"])} ${random.digits(5)}`;
    case "GBR":
      return `${random.chars(LETTERS, 2)}${random.digits(2)} ${random.chars(LETTERS, 3)}`;
    default:
      return `${random.chars(LETTERS, 3)} ${random.digits(4)}`;
  }
}

const ORGANISATION_FORMS: Record<string, { sectors: readonly string[]; suffixes: readonly string[] }> = {
  FRA: { sectors: ["Transports", "Import-Export", "Négoce", "Logistique", "Bâtiment"], suffixes: ["SARL", "SAS", "et Fils"] },
  DEU: { sectors: ["Logistik", "Handel", "Transporte", "Bau", "Import Export"], suffixes: ["GmbH", "GmbH & Co. KG", "AG"] },
  ESP: { sectors: ["Transportes", "Importaciones", "Logística", "Construcciones"], suffixes: ["S.L.", "S.A."] },
  ITA: { sectors: ["Trasporti", "Import Export", "Costruzioni", "Logistica"], suffixes: ["S.r.l.", "S.p.A."] },
  TUR: { sectors: ["Nakliyat", "İthalat İhracat", "İnşaat", "Lojistik"], suffixes: ["Ltd. Şti.", "A.Ş."] },
  POL: { sectors: ["Transport", "Handel", "Logistyka", "Budownictwo"], suffixes: ["Sp. z o.o.", "S.A."] },
};
const DEFAULT_ORGANISATION_FORM = { sectors: ["Trading", "Logistics", "Holdings", "Import Export", "Shipping"], suffixes: ["Ltd", "LLC", "Group"] };
const UKRAINIAN_ORGANISATIONS = ["ТОВ «Агро-Схід»", "ТОВ «Буд-Інвест Плюс»", "ПП «Транс-Логістик»", "ТОВ «Дніпро Трейд»", "ПрАТ «Захід-Імпекс»"];
const GREEK_ORGANISATIONS = ["Ναυτιλιακή Αιγαίου Α.Ε.", "Μεταφορές Παπαδόπουλος Ο.Ε.", "Εμπορική Πειραιώς Ε.Π.Ε."];

function organisation(random: Random, country: string): string {
  if (country === "UKR" && random.chance(0.6)) return random.pick(UKRAINIAN_ORGANISATIONS);
  if (country === "GRC" && random.chance(0.6)) return random.pick(GREEK_ORGANISATIONS);
  const form = ORGANISATION_FORMS[country] ?? DEFAULT_ORGANISATION_FORM;
  const pool = NAME_POOLS[random.weighted<Culture>(cultureMixFor(country))];
  const surname = variantsOf(random.pick(pool.surnames))[0] ?? "Nord";
  return `${surname} ${random.pick(form.sectors)} ${random.pick(form.suffixes)}`;
}

const DEVICE_COMPONENTS = [
  "TATP detonator",
  "mobile phone trigger board",
  "remote-control relay module",
  "pressure-plate switch",
  "electric blasting cap",
  "modified kitchen timer circuit",
  "GSM module with SIM card holder",
  "PIR motion sensor trigger",
  "model rocket igniter",
  "9V battery pack with toggle switch",
  "pipe end caps (steel, threaded)",
];

const PRECURSORS = [
  "hydrogen peroxide 35%",
  "hydrogen peroxide 12%",
  "ammonium nitrate",
  "acetone 99%",
  "potassium chlorate",
  "sodium chlorate",
  "potassium nitrate",
  "nitromethane",
  "nitric acid 65%",
  "sulfuric acid 96%",
  "hexamine",
  "aluminium powder",
];

function entityValue(random: Random, type: EntityType, country: string): string {
  switch (type) {
    case "phone":
      return phoneNumber(random, country);
    case "email":
      return emailAddress(random, country);
    case "vehicle":
      return vehicle(random, country);
    case "organisation":
      return organisation(random, country);
    case "device_component":
      return random.pick(DEVICE_COMPONENTS);
    case "precursor":
      return random.pick(PRECURSORS);
  }
}

function entityRecord(random: Random, country: string, index: number, persons: number): EntityRecord {
  const type = random.weighted<EntityType>({ phone: 35, email: 20, vehicle: 15, organisation: 10, device_component: 10, precursor: 10 });
  const links: string[] = [];
  if (persons > 0) {
    const roll = random.float();
    const count = roll < 0.15 ? 0 : roll < 0.85 ? 1 : 2;
    for (let i = 0; i < count; i++) {
      const id = `${country}-P-${pad6(random.int(1, persons))}`;
      if (!links.includes(id)) links.push(id);
    }
  }
  const value = entityValue(random, type, country);
  const designation = SAMPLE_DESIGNATIONS[value];
  return {
    kind: "entity",
    id: `${country}-E-${pad6(index + 1)}`,
    type,
    value,
    links,
    action: actionFor(random),
    ...(designation === undefined ? {} : { designation }),
  };
}

// ---------------------------------------------------------------------------------------------------

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new WatchmeshError(ErrorCode.InvalidArgument, `${name} must be a non-negative integer`);
  }
}

/**
 * Persons `<C>-P-000001…` then entities `<C>-E-000001…` for country C. Entities link to the generated
 * persons. Deterministic: persons and entities use separate PRNG streams, so asking for more entities
 * does not change the persons.
 */
export function generateSampleRecords(options: SampleOptions): NativeRecord[] {
  const { country, persons, entities, seed } = options;
  if (!COUNTRY_CODE_PATTERN.test(country)) {
    throw new WatchmeshError(ErrorCode.InvalidArgument, "country must be an ISO 3166-1 alpha-3 code (e.g. FRA)");
  }
  checkCount("persons", persons);
  checkCount("entities", entities);
  const records: NativeRecord[] = [];
  const mix = cultureMixFor(country);
  const mainCulture = Object.entries(mix).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))[0]?.[0];
  const context: CountryContext = { country, mix, mainCulture };
  // The country is mixed into the seed so that countries sharing a seed still get different data.
  const countrySeed = [...country].reduce((acc, char) => Math.imul(acc ^ char.charCodeAt(0), 0x01000193) >>> 0, seed >>> 0);
  const personRandom = new Random(countrySeed);
  for (let i = 0; i < persons; i++) records.push(personRecord(personRandom, context, i));
  const entityRandom = new Random((countrySeed ^ 0x9e3779b9) >>> 0);
  for (let i = 0; i < entities; i++) records.push(entityRecord(entityRandom, country, i, persons));
  // Dates come from a stream of their own, so the records' other fields do not depend on them.
  const timeRandom = new Random((countrySeed ^ 0x85ebca6b) >>> 0);
  const recordedAt = sampleRecordedAt(country, options.today ?? utcDayOf(Date.now()));
  const uniform = () => timeRandom.float();
  for (const record of records) record.recordedAt = recordedAt(record, uniform);
  return records;
}

/** One JSON line per record, newline-terminated: the native import format. */
export function sampleRecordsToNdjson(records: readonly NativeRecord[]): string {
  return records.map((record) => `${JSON.stringify(record)}\n`).join("");
}
