/**
 * Record categories, and the controlled vocabularies of designations for device components and explosives precursors: what
 * federated analysis groups by (proto/watchmesh/v1/aggregate.proto). A fixed vocabulary keeps spellings
 * from splitting counts across countries and gives differential-privacy noise a domain known in advance;
 * records may carry any designation, and one outside the vocabulary is counted as "other".
 *
 * Precursors: the substances of Regulation (EU) 2019/1148 on explosives precursors, Annex I (restricted)
 * and Annex II (reportable). Device components: the usual IED component classes (power source,
 * initiator, explosive, container, switch) with the switch and initiator types analysts tell apart.
 */

export const ENTITY_TYPES = ["organisation", "phone", "vehicle", "device_component", "precursor", "email"] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/** What federated analysis counts records and hits by: persons, and entities by type. */
export const RECORD_CATEGORIES = ["person", ...ENTITY_TYPES] as const;
export type RecordCategory = (typeof RECORD_CATEGORIES)[number];

export const PRECURSOR_DESIGNATIONS = [
  "hydrogen_peroxide",
  "nitromethane",
  "nitric_acid",
  "potassium_chlorate",
  "potassium_perchlorate",
  "sodium_chlorate",
  "sodium_perchlorate",
  "hexamine",
  "sulphuric_acid",
  "acetone",
  "potassium_nitrate",
  "sodium_nitrate",
  "calcium_nitrate",
  "calcium_ammonium_nitrate",
  "ammonium_nitrate",
  "aluminium_powder",
  "magnesium_powder",
  "magnesium_nitrate_hexahydrate",
] as const;

export const DEVICE_COMPONENT_DESIGNATIONS = [
  "detonator",
  "improvised_initiator",
  "power_source",
  "timer",
  "radio_trigger",
  "mobile_phone_trigger",
  "victim_operated_switch",
  "command_wire",
  "main_charge",
  "booster",
  "container",
  "fragmentation",
  "circuit_board",
] as const;

/** The designation of a record outside its category's vocabulary. */
export const OTHER_DESIGNATION = "other";

/** Entity types that carry a designation; every other category has the designation "". */
export const DESIGNATED_CATEGORIES = {
  precursor: PRECURSOR_DESIGNATIONS,
  device_component: DEVICE_COMPONENT_DESIGNATIONS,
} as const satisfies Record<string, readonly string[]>;

export type DesignatedCategory = keyof typeof DESIGNATED_CATEGORIES;

export function isDesignatedCategory(category: string): category is DesignatedCategory {
  return Object.hasOwn(DESIGNATED_CATEGORIES, category);
}

/** "Ammonium nitrate", "ammonium-nitrate" and "AMMONIUM_NITRATE" all read "ammonium_nitrate". */
export function normaliseDesignation(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");
}

/** The designation a record is counted under: its normalised designation if in the vocabulary, else "other"; "" for undesignated categories. */
export function countedDesignation(category: string, designation: string | undefined): string {
  if (!isDesignatedCategory(category)) return "";
  const normalised = designation === undefined ? "" : normaliseDesignation(designation);
  return (DESIGNATED_CATEGORIES[category] as readonly string[]).includes(normalised) ? normalised : OTHER_DESIGNATION;
}

/** Every designation a category can be counted under (vocabulary and "other"), or [""] for undesignated ones. */
export function designationsOf(category: string): readonly string[] {
  return isDesignatedCategory(category) ? [...DESIGNATED_CATEGORIES[category], OTHER_DESIGNATION] : [""];
}
