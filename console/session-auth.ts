import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";

/** The session cookie's name. */
export const SESSION_COOKIE = "watchmesh_console_session";
/** A session unused for this long is forgotten (the person logs in again with the token). */
export const DEFAULT_SESSION_IDLE_MS = 8 * 60 * 60 * 1000;
/** Sessions kept at most; the least recently used goes first. */
export const DEFAULT_MAX_SESSIONS = 256;
/** A given access token must be at least this long (a generated one has 43 characters). */
export const MIN_TOKEN_LENGTH = 32;

export interface SessionAuthOptions {
  /** The access token; a random one (256 bits, base64url) when omitted. */
  token?: string;
  sessionIdleMs?: number;
  maxSessions?: number;
  /** Clock, for tests. */
  nowMs?: () => number;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** A random token or session id: 32 bytes, base64url. */
export function randomSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** Cookie name → value from a Cookie header (first occurrence wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? "").split(";").map((text) => text.trim())) {
    const index = part.indexOf("=");
    if (index <= 0) continue;
    const name = part.slice(0, index).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(index + 1).trim());
  }
  return cookies;
}

/**
 * The console's login model, like Jupyter's: one access token (printed once at start, never logged) is
 * exchanged for a session id in an HttpOnly, SameSite=Strict cookie. The token is compared in constant
 * time (over SHA-256 digests, so its length leaks nothing either). Sessions live in memory only: a
 * restarted console, with its new token, forgets them. Session ids are kept as digests.
 */
export class SessionAuth {
  readonly token: string;
  readonly #tokenDigest: Buffer;
  readonly #sessions = new Map<string, number>();
  readonly #idleMs: number;
  readonly #maxSessions: number;
  readonly #now: () => number;

  constructor(options: SessionAuthOptions = {}) {
    if (options.token !== undefined && options.token.length < MIN_TOKEN_LENGTH) {
      throw new WatchmeshError(ErrorCode.ConfigInvalid, `a console access token needs at least ${MIN_TOKEN_LENGTH} characters`);
    }
    this.token = options.token ?? randomSecret();
    this.#tokenDigest = digest(this.token);
    this.#idleMs = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.#maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.#now = options.nowMs ?? Date.now;
  }

  /** True when `candidate` is the access token; constant time. */
  checkToken(candidate: unknown): boolean {
    if (typeof candidate !== "string" || candidate.length === 0 || candidate.length > 1024) return false;
    return timingSafeEqual(digest(candidate), this.#tokenDigest);
  }

  /** Opens a session; returns its id, for the cookie. */
  createSession(): string {
    const id = randomSecret();
    this.#sessions.set(digest(id).toString("hex"), this.#now());
    while (this.#sessions.size > this.#maxSessions) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    return id;
  }

  /** True when the Cookie header carries a live session; refreshes its idle timer. */
  hasSession(cookieHeader: string | undefined): boolean {
    const id = parseCookies(cookieHeader).get(SESSION_COOKIE);
    if (!id) return false;
    const key = digest(id).toString("hex");
    const lastSeen = this.#sessions.get(key);
    if (lastSeen === undefined) return false;
    const now = this.#now();
    this.#sessions.delete(key);
    if (now - lastSeen > this.#idleMs) return false;
    // Re-inserted last: the map's order is least recently used first.
    this.#sessions.set(key, now);
    return true;
  }

  /** Forgets the session of the Cookie header, if any. */
  endSession(cookieHeader: string | undefined): void {
    const id = parseCookies(cookieHeader).get(SESSION_COOKIE);
    if (id) this.#sessions.delete(digest(id).toString("hex"));
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }
}

/** The Set-Cookie value for a session id (Secure when served over TLS). */
export function sessionCookie(id: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

/** The Set-Cookie value that removes the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? "; Secure" : ""}`;
}
