import { describe, expect, it } from "vitest";
import { WatchmeshError } from "../../common/errors.ts";
import { clearedSessionCookie, MIN_TOKEN_LENGTH, parseCookies, SESSION_COOKIE, SessionAuth, sessionCookie } from "../../console/session-auth.ts";

const cookieOf = (id: string): string => `theme=dark; ${SESSION_COOKIE}=${id}; other=1`;

describe("console session auth", () => {
  it("makes a random 256-bit token unless given one, and accepts only that token", () => {
    const a = new SessionAuth();
    const b = new SessionAuth();
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.checkToken(a.token)).toBe(true);
    expect(a.checkToken(b.token)).toBe(false);
    expect(a.checkToken(a.token.slice(0, -1))).toBe(false);
    expect(a.checkToken(`${a.token}x`)).toBe(false);
    for (const bad of ["", undefined, null, 42, { token: a.token }, "x".repeat(5000)]) expect(a.checkToken(bad)).toBe(false);
  });

  it("refuses a given token that is too short to resist guessing", () => {
    expect(() => new SessionAuth({ token: "short" })).toThrow(WatchmeshError);
    const token = "t".repeat(MIN_TOKEN_LENGTH);
    expect(new SessionAuth({ token }).checkToken(token)).toBe(true);
  });

  it("knows the sessions it opened, from the cookie, until they end or idle out", () => {
    let now = 1_000_000;
    const auth = new SessionAuth({ sessionIdleMs: 1000, nowMs: () => now });
    const id = auth.createSession();
    expect(id).not.toBe(auth.token);
    expect(auth.hasSession(cookieOf(id))).toBe(true);
    expect(auth.hasSession(cookieOf(`${id}x`))).toBe(false);
    expect(auth.hasSession(undefined)).toBe(false);
    expect(auth.hasSession(`${SESSION_COOKIE}=`)).toBe(false);
    // Each use refreshes the idle timer.
    now += 900;
    expect(auth.hasSession(cookieOf(id))).toBe(true);
    now += 900;
    expect(auth.hasSession(cookieOf(id))).toBe(true);
    now += 1001;
    expect(auth.hasSession(cookieOf(id))).toBe(false);
    expect(auth.sessionCount).toBe(0);

    const other = auth.createSession();
    auth.endSession(cookieOf(other));
    expect(auth.hasSession(cookieOf(other))).toBe(false);
  });

  it("keeps at most maxSessions, dropping the least recently used", () => {
    const auth = new SessionAuth({ maxSessions: 2 });
    const first = auth.createSession();
    const second = auth.createSession();
    expect(auth.hasSession(cookieOf(first))).toBe(true);
    auth.createSession();
    expect(auth.sessionCount).toBe(2);
    expect(auth.hasSession(cookieOf(first))).toBe(true);
    expect(auth.hasSession(cookieOf(second))).toBe(false);
  });

  it("writes HttpOnly SameSite=Strict cookies, Secure over TLS", () => {
    expect(sessionCookie("abc", false)).toBe(`${SESSION_COOKIE}=abc; Path=/; HttpOnly; SameSite=Strict`);
    expect(sessionCookie("abc", true)).toContain("; Secure");
    expect(clearedSessionCookie(false)).toContain("Max-Age=0");
    expect(parseCookies("a=1; b = 2; a=3; junk; =x")).toEqual(new Map([["a", "1"], ["b", "2"]]));
  });
});
