/**
 * Builds the labelled evaluation set for `watchmesh eval` deterministically (fixed seed) from the
 * sample-data generator: records plus ≥ 2,000 probes with realistic variation — other scripts,
 * transliteration variants, typos, OCR confusions in MRZ names, dropped names, reordered and comma
 * forms, partial dates, day/month swaps, document formatting — and negatives (invented travellers,
 * common-name collisions with other dates of birth, names without corroboration).
 *
 *   node bin/run-ts.js scripts/build-eval-set.ts [outDir]   (default eval/generated, git-ignored)
 *
 * Writes records.ndjson and probes.ndjson. Probes are {"query":{…},"expect":id|null,"variation":…}.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { seededRandom } from "../common/seeded-random.ts";
import { generateSampleRecords, type NativeRecord, type PersonRecord } from "../node/index.ts";
import { compareDob } from "../node/matching/dates.ts";

/** Order-free, accent-free key of a name, to keep the generated labels unambiguous. */
function nameKey(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .sort()
    .join(" ");
}

const COUNTRIES = ["FRA", "DEU", "EGY", "RUS", "UKR", "GRC", "CHN", "TUR", "ESP", "POL"];
const PERSONS_PER_COUNTRY = 1500;
const SEED = 20261125;

const random = seededRandom(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

const isLatin = (name: string) => !/[^\p{Script=Latin}\p{M}\s\-'.,]/u.test(name);

interface Probe {
  query: Record<string, unknown>;
  expect: string | null;
  variation: string;
}

/** Index of persons by order-free name key, to keep labels unambiguous. */
const byNameKey = new Map<string, PersonRecord[]>();
function ambiguous(name: string, dob: string, except?: string): boolean {
  return (byNameKey.get(nameKey(name)) ?? []).some((other) => other.id !== except && compareDob(dob, other.dob) !== "disjoint" && compareDob(dob, other.dob) !== "missing");
}

function typo(name: string): string {
  const tokens = name.split(" ");
  const longest = tokens.reduce((best, token, index) => (token.length > (tokens[best]?.length ?? 0) ? index : best), 0);
  const token = tokens[longest] ?? "";
  if (token.length < 5) return name;
  const at = 1 + Math.floor(random() * (token.length - 2));
  const kind = Math.floor(random() * 3);
  let changed: string;
  if (kind === 0) changed = token.slice(0, at) + token.slice(at + 1); // deletion
  else if (kind === 1) changed = token.slice(0, at) + (token[at + 1] ?? "") + (token[at] ?? "") + token.slice(at + 2); // transposition
  else changed = token.slice(0, at) + (token[at] === "e" ? "a" : "e") + token.slice(at + 1); // vowel substitution
  tokens[longest] = changed;
  return tokens.join(" ");
}

function checkDigit(field: string): string {
  const weights = [7, 3, 1];
  let sum = 0;
  for (const [index, char] of [...field].entries()) {
    const value = char === "<" ? 0 : /\d/.test(char) ? Number(char) : char.charCodeAt(0) - 55;
    sum += value * (weights[index % 3] ?? 1);
  }
  return String(sum % 10);
}

/** A TD3 (passport) MRZ with valid check digits; OCR confusions are applied to the name field only. */
function passportMrz(person: PersonRecord, latinName: string, documentNumber: string, issuer: string, ocr: boolean): string {
  const ascii = latinName.normalize("NFKD").replace(/\p{M}/gu, "").toUpperCase().replace(/[^A-Z ]/g, " ").trim();
  const tokens = ascii.split(/\s+/);
  const surname = tokens.slice(-1).join("<");
  const given = tokens.slice(0, -1).join("<");
  let nameField = `${surname}<<${given}`;
  if (ocr) nameField = nameField.replace(/O/g, "0").replace(/I/g, "1");
  const line1 = `P<${issuer}${nameField}`.padEnd(44, "<").slice(0, 44);
  const number = documentNumber.padEnd(9, "<").slice(0, 9);
  const dob = (person.dob ?? "").replace(/-/g, "").slice(2);
  const expiry = "301231";
  const sex = person.sex ?? "<";
  const nationality = person.nationality?.[0] ?? issuer;
  const optional = "<".repeat(14);
  const body = `${number}${checkDigit(number)}${nationality}${dob}${checkDigit(dob)}${sex}${expiry}${checkDigit(expiry)}${optional}${checkDigit(optional)}`;
  const composite = `${number}${checkDigit(number)}${dob}${checkDigit(dob)}${expiry}${checkDigit(expiry)}${optional}${checkDigit(optional)}`;
  return `${line1}\n${body}${checkDigit(composite)}`;
}

const records: NativeRecord[] = [];
for (const [index, country] of COUNTRIES.entries()) {
  records.push(...generateSampleRecords({ country, persons: PERSONS_PER_COUNTRY, entities: 150, seed: SEED + index }));
}
const persons = records.filter((record): record is PersonRecord => record.kind === "person");
for (const person of persons) {
  for (const name of person.names) {
    const key = nameKey(name);
    byNameKey.set(key, [...(byNameKey.get(key) ?? []), person]);
  }
}

const probes: Probe[] = [];
const used = new Set<string>();
function target(filter: (person: PersonRecord) => boolean): PersonRecord | undefined {
  for (let attempt = 0; attempt < 200; attempt++) {
    const person = pick(persons);
    if (used.has(person.id) || !filter(person)) continue;
    const name = person.names[0] ?? "";
    if (ambiguous(name, person.dob ?? "", person.id)) continue;
    used.add(person.id);
    return person;
  }
  return undefined;
}
const fullDob = (person: PersonRecord) => (person.dob?.length ?? 0) === 10;

function add(count: number, variation: string, make: () => Omit<Probe, "variation"> | undefined): void {
  let made = 0;
  for (let attempt = 0; attempt < count * 20 && made < count; attempt++) {
    const probe = make();
    if (probe) {
      probes.push({ ...probe, variation });
      made++;
    }
  }
}

add(200, "exact", () => {
  const person = target(() => true);
  return person && { query: { name: person.names[0], dob: person.dob }, expect: person.id };
});
add(200, "reordered_or_comma", () => {
  const person = target((p) => isLatin(p.names[0] ?? "") && (p.names[0] ?? "").includes(" "));
  if (!person) return undefined;
  const tokens = (person.names[0] ?? "").split(" ");
  const name = random() < 0.5 ? [...tokens].reverse().join(" ") : `${(tokens.at(-1) ?? "").toUpperCase()}, ${tokens.slice(0, -1).join(" ")}`;
  return { query: { name, dob: person.dob }, expect: person.id };
});
add(250, "other_script", () => {
  const person = target((p) => p.names.some((n) => !isLatin(n)) && p.names.some(isLatin));
  if (!person) return undefined;
  const native = person.names.find((n) => !isLatin(n)) ?? "";
  const latin = person.names.find(isLatin) ?? "";
  // The record keeps one script, the query comes in the other.
  const queryNative = random() < 0.5;
  person.names = [queryNative ? latin : native];
  return { query: { name: queryNative ? native : latin, dob: person.dob }, expect: person.id };
});
add(200, "transliteration_variant", () => {
  const person = target((p) => p.names.filter(isLatin).length >= 2);
  if (!person) return undefined;
  const second = person.names.filter(isLatin)[1];
  person.names = person.names.filter((n) => n !== second);
  return { query: { name: second, dob: person.dob }, expect: person.id };
});
add(250, "typo", () => {
  const person = target((p) => isLatin(p.names[0] ?? ""));
  if (!person) return undefined;
  const name = typo(person.names[0] ?? "");
  return name === person.names[0] ? undefined : { query: { name, dob: person.dob }, expect: person.id };
});
add(150, "dropped_name", () => {
  const person = target((p) => (p.names[0] ?? "").split(" ").length >= 3);
  if (!person) return undefined;
  const tokens = (person.names[0] ?? "").split(" ");
  return { query: { name: [tokens[0], tokens.at(-1)].join(" "), dob: person.dob }, expect: person.id };
});
add(200, "partial_dob", () => {
  const person = target(fullDob);
  if (!person) return undefined;
  const dob = random() < 0.5 ? person.dob?.slice(0, 4) : person.dob?.slice(0, 7);
  return { query: { name: person.names[0], dob }, expect: person.id };
});
add(150, "dob_day_month_swap", () => {
  const person = target((p) => fullDob(p) && Number(p.dob?.slice(8)) <= 12 && p.dob?.slice(5, 7) !== p.dob?.slice(8));
  if (!person?.dob) return undefined;
  const swapped = `${person.dob.slice(0, 4)}-${person.dob.slice(8)}-${person.dob.slice(5, 7)}`;
  return { query: { name: person.names[0], dob: swapped, nationality: person.nationality?.[0], sex: person.sex }, expect: person.id };
});
add(150, "mrz_ocr_name", () => {
  const person = target((p) => fullDob(p) && (p.documents ?? []).some((d) => d.type === "passport") && p.names.some(isLatin));
  const passport = person?.documents?.find((d) => d.type === "passport");
  if (!person || !passport) return undefined;
  // The document number is also on the record: drop it, so the probe must match on the OCR-damaged name + dob.
  person.documents = (person.documents ?? []).filter((d) => d !== passport);
  const mrz = passportMrz(person, person.names.find(isLatin) ?? "", passport.number, passport.country, true);
  return { query: { mrz }, expect: person.id };
});
add(150, "document_formatting", () => {
  const person = target((p) => (p.documents?.length ?? 0) > 0);
  const document = person?.documents?.[0];
  if (!person || !document) return undefined;
  const typed = `${document.number.slice(0, 3)} ${document.number.slice(3, 6)}-${document.number.slice(6)}`.toLowerCase();
  return { query: { document: { number: typed, country: document.country } }, expect: person.id };
});

// Negatives: nobody on file.
add(200, "negative_invented", () => {
  const a = pick(persons);
  const b = pick(persons);
  const given = (a.names[0] ?? "").split(" ")[0] ?? "";
  const surname = (b.names[0] ?? "").split(" ").at(-1) ?? "";
  const name = `${given} ${surname}`;
  const dob = `${1940 + Math.floor(random() * 65)}-${String(1 + Math.floor(random() * 12)).padStart(2, "0")}-${String(1 + Math.floor(random() * 28)).padStart(2, "0")}`;
  const surnameKey = nameKey(surname);
  const clash = persons.some((p) => p.names.some((n) => nameKey(n).split(" ").includes(surnameKey)) && !["disjoint", "missing"].includes(compareDob(dob, p.dob)));
  return clash ? undefined : { query: { name, dob }, expect: null };
});
add(150, "negative_same_name_other_dob", () => {
  const person = pick(persons);
  if (!person.dob) return undefined;
  const year = Number(person.dob.slice(0, 4)) + (random() < 0.5 ? -7 : 9);
  const dob = `${year}-03-15`;
  return ambiguous(person.names[0] ?? "", dob) ? undefined : { query: { name: person.names[0], dob }, expect: null };
});
// A name that several people on file share identifies nobody: without a date, document or biometric it
// must not hit. (A rare full name alone may; those are not labelled here.)
add(100, "negative_shared_name_without_corroboration", () => {
  const person = pick(persons);
  const name = person.names[0] ?? "";
  return (byNameKey.get(nameKey(name))?.length ?? 0) >= 2 ? { query: { name }, expect: null } : undefined;
});

await writeFileSet(process.argv[2] ?? path.join("eval", "generated"));

async function writeFileSet(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "records.ndjson"), records.map((record) => JSON.stringify(record)).join("\n") + "\n");
  await writeFile(path.join(dir, "probes.ndjson"), probes.map((probe) => JSON.stringify(probe)).join("\n") + "\n");
  const counts = probes.reduce<Record<string, number>>((acc, probe) => ({ ...acc, [probe.variation]: (acc[probe.variation] ?? 0) + 1 }), {});
  process.stdout.write(`${records.length} records, ${probes.length} probes in ${dir}: ${JSON.stringify(counts)}\n`);
}
