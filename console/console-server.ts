import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { chartLibraryPath } from "../client/report/report-html.ts";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";
import { silentLogger, type Logger } from "../common/logger.ts";
import type { AnalystDesk } from "./analyst-api.ts";
import { parseAuditSearch, type AuditDesk } from "./auditor-api.ts";
import { readJsonBody, SECURITY_HEADERS, sendError, sendJson, sendRedirect } from "./http-io.ts";
import type { OfficerDesk } from "./officer-api.ts";
import { clearedSessionCookie, SessionAuth, sessionCookie } from "./session-auth.ts";
import { StaticFiles } from "./static-files.ts";

/** How long stop() lets requests in flight finish before it closes their connections. */
const STOP_GRACE_MS = 5000;
const LOGIN_PAGE = "/login.html";
/** Libraries the pages load, served by the console itself from node_modules (no CDN). */
const CONSOLE_LIBRARIES: Readonly<Record<string, string>> = { "/vendor/chart.umd.min.js": chartLibraryPath() };
/** Files a person who has not logged in may load: the login page and what it needs. */
const PUBLIC_FILES = new Set([LOGIN_PAGE, "/login.js", "/console.css", "/favicon.svg"]);

export interface ConsoleServerOptions {
  /** Address to bind; loopback by default. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** PEM certificate chain and key: serve HTTPS (and mark the session cookie Secure). */
  tls?: { cert: Buffer; key: Buffer };
  /** The access token; a random one when omitted. Never logged. */
  token?: string;
  sessionIdleMs?: number;
  /** The officer view (border checks); unavailable without it. */
  officer?: OfficerDesk;
  /** The auditor view (audit logs, traces); unavailable without it. */
  auditor?: AuditDesk;
  /** The analyst view (regional report); unavailable without it. */
  analyst?: AnalystDesk;
  /** Request log (method, route, status, duration, error code: never bodies, query strings or tokens). */
  logger?: Logger;
  /** Files to serve; the console's own static folder and Chart.js by default. */
  staticFiles?: StaticFiles;
}

type ViewName = "officer" | "analyst" | "auditor";

const UNAVAILABLE_REASONS: Record<ViewName, string> = {
  officer: "this console was started without a border system key (--key or --mesh)",
  analyst: "this console was started without an analyst key (--analyst-key or --mesh)",
  auditor: "this console was started without node data directories or a span file (--audit-node, --traces or --mesh)",
};

interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

interface Route {
  method: "GET" | "POST";
  /** The route's name in the request log: a pattern, never the concrete path. */
  name: string;
  match: (pathname: string) => Record<string, string> | undefined;
  /** Needs a session (all API routes but login). */
  session: boolean;
  handle: (ctx: RequestContext) => Promise<void> | void;
}

function exact(path: string): Route["match"] {
  return (pathname) => (pathname === path ? {} : undefined);
}

/** Aborted when the browser goes away before its answer: its check or report is cancelled. */
function abandonedWith(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

function required<T>(desk: T | undefined, view: ViewName): T {
  if (desk === undefined) throw new WatchmeshError(ErrorCode.Unavailable, `the ${view} view is unavailable: ${UNAVAILABLE_REASONS[view]}`);
  return desk;
}

/**
 * The web console: a small HTTP(S) server for the officer, analyst and auditor views. Pages are static
 * files; everything else is a JSON API behind a session (see session-auth.ts). Traveller data only
 * ever arrives in POST bodies and is never logged. `start()` returns a listening server; `stop()` is
 * idempotent.
 */
export class ConsoleServer implements AsyncDisposable {
  readonly auth: SessionAuth;
  readonly #options: ConsoleServerOptions;
  readonly #server: Server;
  readonly #files: StaticFiles;
  readonly #logger: Logger;
  readonly #routes: Route[];
  readonly #secure: boolean;
  #stopping: Promise<void> | undefined;

  private constructor(options: ConsoleServerOptions, files: StaticFiles) {
    this.#options = options;
    this.#files = files;
    this.#logger = options.logger ?? silentLogger();
    this.#secure = options.tls !== undefined;
    this.auth = new SessionAuth({
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.sessionIdleMs === undefined ? {} : { sessionIdleMs: options.sessionIdleMs }),
    });
    this.#routes = this.#makeRoutes();
    const listener = (req: IncomingMessage, res: ServerResponse): void => void this.#handle(req, res);
    this.#server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createHttpServer(listener);
    this.#server.headersTimeout = 10_000;
    this.#server.requestTimeout = 60_000;
  }

  static async start(options: ConsoleServerOptions = {}): Promise<ConsoleServer> {
    const instance = new ConsoleServer(options, options.staticFiles ?? (await StaticFiles.load({ extra: CONSOLE_LIBRARIES })));
    const server = instance.#server;
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1");
    try {
      await Promise.race([once(server, "listening"), once(server, "error").then(([error]) => Promise.reject(error as Error))]);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const where = `${options.host ?? "127.0.0.1"}:${options.port ?? 0}`;
      throw new WatchmeshError(ErrorCode.ConfigInvalid, code === "EADDRINUSE" ? `${where} is already in use` : `cannot listen on ${where}`, { cause: error });
    }
    return instance;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** The console's base URL, e.g. `http://127.0.0.1:8470/`. */
  get url(): string {
    const host = this.#options.host ?? "127.0.0.1";
    const shown = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
    return `${this.#secure ? "https" : "http"}://${shown}:${this.port}/`;
  }

  /** The URL to open, with the access token (print it once; never log it). */
  get loginUrl(): string {
    return `${this.url}?token=${encodeURIComponent(this.auth.token)}`;
  }

  stop(): Promise<void> {
    this.#stopping ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#server.closeAllConnections(), STOP_GRACE_MS);
      this.#server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#server.closeIdleConnections();
    });
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #views(): Record<ViewName, unknown> {
    const { officer, auditor, analyst } = this.#options;
    return {
      officer: officer ? { available: true, ...officer.info } : { available: false, reason: UNAVAILABLE_REASONS.officer },
      analyst: analyst ? { available: true, ...analyst.info } : { available: false, reason: UNAVAILABLE_REASONS.analyst },
      auditor: auditor ? { available: true, ...auditor.info } : { available: false, reason: UNAVAILABLE_REASONS.auditor },
    };
  }

  #makeRoutes(): Route[] {
    const officer = (): OfficerDesk => required(this.#options.officer, "officer");
    const auditor = (): AuditDesk => required(this.#options.auditor, "auditor");
    const analyst = (): AnalystDesk => required(this.#options.analyst, "analyst");
    return [
      {
        method: "POST",
        name: "POST /api/login",
        match: exact("/api/login"),
        session: false,
        handle: async ({ req, res }) => {
          const body = await readJsonBody(req, 2048);
          const token = typeof body === "object" && body !== null ? (body as { token?: unknown }).token : undefined;
          if (!this.auth.checkToken(token)) throw new WatchmeshError(ErrorCode.Unauthenticated, "the access token is not valid");
          sendJson(res, 200, { ok: true }, { "set-cookie": sessionCookie(this.auth.createSession(), this.#secure) });
        },
      },
      {
        method: "POST",
        name: "POST /api/logout",
        match: exact("/api/logout"),
        session: false,
        handle: ({ req, res }) => {
          this.auth.endSession(req.headers.cookie);
          sendJson(res, 200, { ok: true }, { "set-cookie": clearedSessionCookie(this.#secure) });
        },
      },
      {
        method: "GET",
        name: "GET /api/session",
        match: exact("/api/session"),
        session: true,
        handle: ({ res }) => sendJson(res, 200, { views: this.#views() }),
      },
      {
        method: "POST",
        name: "POST /api/officer/check",
        match: exact("/api/officer/check"),
        session: true,
        handle: async ({ req, res }) => {
          const desk = officer();
          const body = await readJsonBody(req);
          sendJson(res, 200, await desk.check(body, { signal: abandonedWith(res) }));
        },
      },
      {
        method: "GET",
        name: "GET /api/auditor/queries",
        match: exact("/api/auditor/queries"),
        session: true,
        handle: async ({ res, url }) => {
          const desk = auditor();
          sendJson(res, 200, await desk.search(parseAuditSearch(url.searchParams)));
        },
      },
      {
        method: "GET",
        name: "GET /api/auditor/queries/:queryId",
        match: (pathname) => {
          const found = /^\/api\/auditor\/queries\/([\w-]+)$/.exec(pathname);
          return found?.[1] === undefined ? undefined : { queryId: found[1] };
        },
        session: true,
        handle: async ({ res, params }) => sendJson(res, 200, await auditor().timeline(params["queryId"] ?? "")),
      },
      {
        method: "GET",
        name: "GET /api/auditor/verification",
        match: exact("/api/auditor/verification"),
        session: true,
        handle: async ({ res }) => sendJson(res, 200, { nodes: await auditor().verify() }),
      },
      {
        method: "GET",
        name: "GET /api/analyst/report",
        match: exact("/api/analyst/report"),
        session: true,
        handle: async ({ res, url }) => {
          const desk = analyst();
          sendJson(res, 200, await desk.report(url.searchParams, { signal: abandonedWith(res) }));
        },
      },
    ];
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedMs = performance.now();
    let route = "unmatched";
    let code: ErrorCode | undefined;
    try {
      const url = new URL(req.url ?? "/", "http://console.invalid");
      const method = req.method ?? "GET";
      if (url.pathname.startsWith("/api/")) {
        const found = this.#routes.find((candidate) => candidate.match(url.pathname) !== undefined);
        if (!found) throw new WatchmeshError(ErrorCode.NotFound, "no such API");
        route = found.name;
        if (found.method !== method) {
          res.setHeader("allow", found.method);
          sendJson(res, 405, { error: { code: ErrorCode.InvalidArgument, message: `use ${found.method}` } });
          return;
        }
        if (method === "POST") this.#checkOrigin(req);
        if (found.session && !this.auth.hasSession(req.headers.cookie)) throw new WatchmeshError(ErrorCode.Unauthenticated, "log in first");
        await found.handle({ req, res, url, params: found.match(url.pathname) ?? {} });
        return;
      }
      route = "page";
      if (method !== "GET" && method !== "HEAD") {
        sendJson(res, 405, { error: { code: ErrorCode.InvalidArgument, message: "use GET" } }, { allow: "GET, HEAD" });
        return;
      }
      this.#servePage(req, res, url);
    } catch (error) {
      const failure = WatchmeshError.from(error);
      code = failure.code;
      if (!res.headersSent) sendError(res, failure, failure.code === ErrorCode.PayloadTooLarge ? { connection: "close" } : {});
      else res.destroy();
    } finally {
      // Only the route's name: the path may carry a token or anything a caller typed; bodies are never logged.
      this.#logger.info(
        { method: req.method, route, status: res.statusCode, ms: Math.round(performance.now() - startedMs), ...(code ? { code } : {}) },
        "console request",
      );
    }
  }

  /** A POST from another origin is refused (the SameSite cookie already keeps other sites out). */
  #checkOrigin(req: IncomingMessage): void {
    const origin = req.headers.origin;
    if (origin === undefined) return;
    const own = `${this.#secure ? "https" : "http"}://${req.headers.host ?? ""}`;
    if (origin !== own) throw new WatchmeshError(ErrorCode.Unauthenticated, "requests from another origin are refused");
  }

  #servePage(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (url.pathname === "/" && url.searchParams.has("token")) {
      // The token arrives once in the URL the console printed; it is swapped for a cookie and dropped from the address bar.
      if (!this.auth.checkToken(url.searchParams.get("token"))) {
        sendRedirect(res, `${LOGIN_PAGE}?failed=1`);
        return;
      }
      sendRedirect(res, "/", { "set-cookie": sessionCookie(this.auth.createSession(), this.#secure) });
      return;
    }
    const pathname = url.pathname === "/" ? "/index.html" : url.pathname;
    const file = this.#files.get(pathname);
    if (!file) {
      sendJson(res, 404, { error: { code: ErrorCode.NotFound, message: "no such page" } });
      return;
    }
    if (!PUBLIC_FILES.has(pathname) && pathname.endsWith(".html") && !this.auth.hasSession(req.headers.cookie)) {
      sendRedirect(res, LOGIN_PAGE);
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "content-type": file.contentType,
      "content-length": file.body.length,
      "cache-control": "no-cache",
    });
    res.end(req.method === "HEAD" ? undefined : file.body);
  }
}
