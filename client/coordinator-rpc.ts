import { Metadata, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import type { Context } from "@opentelemetry/api";
import { ERROR_CODE_METADATA_KEY, ErrorCode, isErrorCode, WatchmeshError } from "../common/errors.ts";
import { injectIntoGrpcMetadata } from "../common/telemetry.ts";

/** A unary method of a grpc-js client, bound to its client. */
export type UnaryRpc<Response> = (
  request: unknown,
  metadata: Metadata,
  options: { deadline: number },
  callback: (error: ServiceError | null, response?: Response) => void,
) => { cancel(): void };

/**
 * Calls a coordinator method with the trace context in the metadata and a deadline; cancels the call
 * when `signal` aborts. Failures become WatchmeshErrors with the coordinator's own code when it sent one.
 */
export function callCoordinator<Response>(
  rpc: UnaryRpc<Response>,
  request: unknown,
  ctx: Context,
  timeoutMs: number,
  address: string,
  signal?: AbortSignal,
): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new WatchmeshError(ErrorCode.DeadlineExceeded, "call aborted"));
      return;
    }
    const metadata = new Metadata();
    injectIntoGrpcMetadata(metadata, ctx);
    const onAbort = () => call.cancel();
    const call = rpc(request, metadata, { deadline: Date.now() + timeoutMs }, (error, response) => {
      signal?.removeEventListener("abort", onAbort);
      if (error || !response) reject(fromServiceError(error, address));
      else resolve(response);
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function fromServiceError(error: ServiceError | null, address: string): WatchmeshError {
  if (!error) return new WatchmeshError(ErrorCode.Internal, "empty response from coordinator");
  const code = error.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
  if (typeof code === "string" && isErrorCode(code)) return new WatchmeshError(code, error.details || code, { cause: error });
  if (error.code === GrpcStatus.UNAVAILABLE) return new WatchmeshError(ErrorCode.Unavailable, `coordinator at ${address} is unreachable`, { cause: error });
  if (error.code === GrpcStatus.DEADLINE_EXCEEDED) return new WatchmeshError(ErrorCode.DeadlineExceeded, `coordinator at ${address} did not answer in time`, { cause: error });
  return new WatchmeshError(ErrorCode.Internal, `coordinator call failed (gRPC status ${error.code})`, { cause: error });
}
