import type { BorderClient, CheckCallOptions, CheckSubject } from "../client/border-client.ts";
import { officerScreen, type OfficerScreen } from "../client/officer-screen.ts";
import { parseMrz, type ParsedMrz } from "../common/mrz.ts";
import { parseQueryJson } from "../common/query-json.ts";

/** What the officer view shows of an MRZ it read, so the officer can compare it with the document. */
export interface MrzReading {
  format: ParsedMrz["format"];
  documentCode: string;
  issuingState: string;
  documentNumber: string;
  surname: string;
  givenNames: string;
  nationality: string;
  dateOfBirth: string;
  sex: string;
  dateOfExpiry: string;
}

export interface OfficerRequest {
  subject: CheckSubject;
  mrz?: MrzReading;
}

/** The answer of `POST /api/officer/check`. */
export interface OfficerCheckResponse {
  screen: OfficerScreen;
  mrz?: MrzReading;
}

/**
 * Validates an officer's check: the body is the documented JSON query format (common/query-json.ts,
 * as `watchmesh check --query` reads it). A pasted MRZ is read here with every check digit verified
 * (OCR confusions repaired as the nodes do), so a mistyped zone is refused at once with INVALID_MRZ
 * naming the field. Errors name fields, never their content.
 */
export function parseOfficerRequest(body: unknown): OfficerRequest {
  const subject = parseQueryJson(body);
  if (!("person" in subject) || subject.person.mrz.length === 0) return { subject };
  const mrz = parseMrz(subject.person.mrz, { repairOcr: true });
  return {
    subject,
    mrz: {
      format: mrz.format,
      documentCode: mrz.documentCode,
      issuingState: mrz.issuingState,
      documentNumber: mrz.documentNumber,
      surname: mrz.surname,
      givenNames: mrz.givenNames,
      nationality: mrz.nationality,
      dateOfBirth: mrz.dateOfBirth,
      sex: mrz.sex,
      dateOfExpiry: mrz.dateOfExpiry,
    },
  };
}

export interface OfficerDeskOptions {
  /** The border system's client: it signs every check with the border key and verifies every answer. */
  client: BorderClient;
  /** Who the checks are signed as, for the page's header. */
  country: string;
  agency: string;
  /** Border post or terminal id sent with every check (not personal data). */
  location?: string;
  /** Coordinator gathering deadline; the coordinator's default when omitted. */
  deadlineMs?: number;
}

export interface OfficerInfo {
  country: string;
  agency: string;
  location: string;
}

/** The officer view's server side: one verified federated check per request, shown as an officer screen. */
export class OfficerDesk {
  readonly #options: OfficerDeskOptions;

  constructor(options: OfficerDeskOptions) {
    this.#options = options;
  }

  get info(): OfficerInfo {
    return { country: this.#options.country, agency: this.#options.agency, location: this.#options.location ?? "" };
  }

  async check(body: unknown, options: { signal?: AbortSignal } = {}): Promise<OfficerCheckResponse> {
    const request = parseOfficerRequest(body);
    const callOptions: CheckCallOptions = {
      ...(this.#options.location ? { location: this.#options.location } : {}),
      ...(this.#options.deadlineMs ? { deadlineMs: this.#options.deadlineMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const result = await this.#options.client.check(request.subject, callOptions);
    return { screen: officerScreen(result), ...(request.mrz ? { mrz: request.mrz } : {}) };
  }
}
