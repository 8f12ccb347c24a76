export { ConsoleServer } from "./console-server.ts";
export type { ConsoleServerOptions } from "./console-server.ts";
export { OfficerDesk, parseOfficerRequest } from "./officer-api.ts";
export type { MrzReading, OfficerCheckResponse, OfficerDeskOptions, OfficerInfo, OfficerRequest } from "./officer-api.ts";
export { AuditDesk, buildTimeline, parseAuditSearch, DEFAULT_MAX_SEARCH_RESULTS } from "./auditor-api.ts";
export type {
  AuditDeskOptions,
  AuditedQuery,
  AuditorInfo,
  AuditSearch,
  AuditSearchResult,
  NodeVerification,
  QueryTimeline,
  TimelineBar,
} from "./auditor-api.ts";
export { ReportDesk, parseReportFilter } from "./analyst-api.ts";
export type { AnalystDesk, AnalystInfo, ReportDeskOptions, ReportFilter } from "./analyst-api.ts";
export { SessionAuth, SESSION_COOKIE, parseCookies, sessionCookie, clearedSessionCookie, randomSecret } from "./session-auth.ts";
export type { SessionAuthOptions } from "./session-auth.ts";
export { httpStatusFor, readJsonBody, MAX_JSON_BODY_BYTES, SECURITY_HEADERS } from "./http-io.ts";
export { StaticFiles, STATIC_DIR } from "./static-files.ts";
