/** ISO 3166-1 alpha-3 shape check. Membership of the mesh is decided by the trust registry. */
export const COUNTRY_CODE_PATTERN = /^[A-Z]{3}$/;

export function isCountryCode(value: string): boolean {
  return COUNTRY_CODE_PATTERN.test(value);
}
