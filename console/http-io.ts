import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";

/** Largest JSON body the console reads (an officer's check is well under 4 KiB). */
export const MAX_JSON_BODY_BYTES = 16 * 1024;

/**
 * Headers on every response. The pages load only their own scripts, styles and the libraries the
 * console serves itself (no inline script, no CDN); nothing may frame them; no referrer leaves.
 */
export const SECURITY_HEADERS: Readonly<OutgoingHttpHeaders> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  MALFORMED_MESSAGE: 400,
  INVALID_MRZ: 400,
  UNAUTHENTICATED: 401,
  ROLE_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  QUOTA_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  ANSWER_INVALID: 502,
};

/** The HTTP status of an error code: 4xx for what the caller can fix, 5xx for the rest. */
export function httpStatusFor(code: ErrorCode): number {
  return HTTP_STATUS[code] ?? 500;
}

/** The JSON error body: `{"error":{"code","message"}}`; the message is safe (never a cause's text). */
export function errorBody(error: WatchmeshError): { error: { code: ErrorCode; message: string } } {
  return { error: { code: error.code, message: error.message } };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    // Results of checks and audit searches are never kept by the browser or a proxy.
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: WatchmeshError, headers: OutgoingHttpHeaders = {}): void {
  sendJson(res, httpStatusFor(error.code), errorBody(error), headers);
}

export function sendRedirect(res: ServerResponse, location: string, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, "cache-control": "no-store", "content-length": 0, ...headers });
  res.end();
}

/**
 * Reads a JSON request body of at most `maxBytes`: `application/json` only (so a cross-site HTML form
 * cannot post to the console), the limit enforced on the declared length and while reading.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes = MAX_JSON_BODY_BYTES): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") throw new WatchmeshError(ErrorCode.InvalidArgument, "the request body must be application/json");
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new WatchmeshError(ErrorCode.PayloadTooLarge, `the request body is larger than ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      // Stop reading; the connection is closed after the answer.
      req.pause();
      throw new WatchmeshError(ErrorCode.PayloadTooLarge, `the request body is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch (error) {
    throw new WatchmeshError(ErrorCode.MalformedMessage, "the request body is not valid JSON", { cause: error });
  }
}
