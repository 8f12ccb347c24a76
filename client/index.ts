export { BorderClient } from "./border-client.ts";
export type {
  ActionName,
  BorderClientOptions,
  CheckCallOptions,
  CheckHit,
  CheckResult,
  CheckSubject,
  CountryCheckResult,
  ResultStatus,
} from "./border-client.ts";
export type { BatchCallOptions, BatchCheckResult, BatchProgress, TravellerCheckResult } from "./border-client.ts";
export { requestFollowup, collectFollowupReplies, ownerOfReference } from "./followup-client.ts";
export type { FollowupRequestOptions, ReceivedReply } from "./followup-client.ts";
