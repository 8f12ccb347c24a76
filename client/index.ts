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
