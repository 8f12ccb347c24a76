import { existsSync } from "node:fs";
import { isIP } from "node:net";
import path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import { loadClientTls, readTlsKeyPair } from "../../../common/grpc-tls.ts";
import { readPublicKeyFile } from "../../../common/key-files.ts";
import { TrustRegistry } from "../../../common/registry.ts";
import { initSodium } from "../../../common/sodium.ts";
import { MESH_SPAN_FILE_NAME } from "../../../common/span-file.ts";
import { AuditDesk, ConsoleServer, OfficerDesk, ReportDesk } from "../../../console/index.ts";
import { DEFAULT_SEAL_EVERY } from "../../../node/index.ts";
import { AnalystClient } from "../../analyst-client.ts";
import { BorderClient } from "../../border-client.ts";
import { loadIdentity, MeshLayout } from "../mesh-layout.ts";
import { collect, parseEpsilon, parsePositiveInt } from "./options.ts";
import type { CliRuntime } from "./runtime.ts";

export const DEFAULT_CONSOLE_PORT = 8470;

interface ConsoleFlags {
  mesh?: string;
  coordinator?: string;
  key?: string;
  analystKey?: string;
  epsilon: number;
  registry?: string;
  rootKey?: string;
  coordinatorCa?: string;
  coordinatorTlsCert?: string;
  coordinatorTlsKey?: string;
  location?: string;
  deadlineMs?: number;
  auditNode: string[];
  traces?: string;
  sealEvery: number;
  host: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError("expected a port number from 0 to 65535");
  return port;
}

/** One line per view: what the console offers and as whom. */
export function describeConsole(views: { officer?: OfficerDesk; analyst?: ReportDesk; auditor?: AuditDesk }): string[] {
  const officer = views.officer?.info;
  const analyst = views.analyst?.info;
  const auditor = views.auditor?.info;
  return [
    officer ? `  border check: signed as ${officer.country}/${officer.agency}${officer.location ? ` at ${officer.location}` : ""}` : "  border check: unavailable (no border key)",
    analyst ? `  analysis: reports asked for as ${analyst.country}/${analyst.agency}` : "  analysis: unavailable (no analyst key)",
    auditor
      ? `  audit: ${auditor.nodes.length} node audit log(s)${auditor.traces ? " and the span file" : ""}`
      : "  audit: unavailable (no --audit-node or --traces)",
  ];
}

async function serveConsole(flags: ConsoleFlags, runtime: CliRuntime): Promise<void> {
  if (!isLoopback(flags.host) && !(flags.tlsCert && flags.tlsKey)) {
    throw new WatchmeshError(ErrorCode.ConfigInvalid, `serving the console on ${flags.host} (not loopback) needs --tls-cert and --tls-key`);
  }
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new WatchmeshError(ErrorCode.ConfigInvalid, "--tls-cert and --tls-key go together");
  await initSodium();
  const layout = flags.mesh === undefined ? undefined : new MeshLayout(flags.mesh);
  if (layout && !layout.exists()) throw new WatchmeshError(ErrorCode.NotFound, `no mesh in ${flags.mesh} (create one with "watchmesh up")`);

  const registryFile = flags.registry ?? layout?.registryFile;
  const rootKeyFile = flags.rootKey ?? layout?.rootPublicKeyFile;
  const registry = registryFile && rootKeyFile ? await TrustRegistry.load(registryFile, await readPublicKeyFile(rootKeyFile)) : undefined;

  // The officer view: the border system's key and a coordinator.
  const borderCountry = registry?.document.members.find((member) => member.role === "border")?.country;
  const meshBorderKey = layout && borderCountry && existsSync(layout.borderKeyFile(borderCountry)) ? layout.borderKeyFile(borderCountry) : undefined;
  const keyFile = flags.key ?? meshBorderKey;
  // The analyst view: the analysis unit's key and the same coordinator.
  const meshAnalystKey = layout && borderCountry && existsSync(layout.analystKeyFile(borderCountry)) ? layout.analystKeyFile(borderCountry) : undefined;
  const analystKeyFile = flags.analystKey ?? meshAnalystKey;
  let coordinatorAddress = flags.coordinator;
  if ((keyFile || analystKeyFile) && !coordinatorAddress && layout) coordinatorAddress = (await layout.readState()).coordinator;
  if ((keyFile || analystKeyFile) && !coordinatorAddress) {
    throw new WatchmeshError(ErrorCode.ConfigInvalid, "the border check and analysis views need --coordinator (or --mesh with a running mesh)");
  }

  // The auditor view: node data directories and the span file.
  const auditNodes = flags.auditNode.length > 0 || !layout || !registry
    ? flags.auditNode
    : registry.nodeCountries().map((country) => layout.nodeDataDir(country)).filter((dir) => existsSync(dir));
  const meshTraces = layout ? path.join(layout.dir, MESH_SPAN_FILE_NAME) : undefined;
  const traces = flags.traces ?? (meshTraces && existsSync(meshTraces) ? meshTraces : undefined);
  if (!keyFile && !analystKeyFile && auditNodes.length === 0 && traces === undefined) {
    throw new WatchmeshError(ErrorCode.ConfigInvalid, "nothing to serve: give --mesh, a border key (--key), an analyst key (--analyst-key) or audit data (--audit-node, --traces)");
  }
  // Every view checks signatures against the registry: answers, counts, audit seals.
  if (!registry) throw new WatchmeshError(ErrorCode.ConfigInvalid, "--registry and --root-key are needed (or --mesh)");

  const coordinatorTls = flags.coordinatorCa
    ? await loadClientTls({
        caFile: flags.coordinatorCa,
        ...(flags.coordinatorTlsCert ? { certFile: flags.coordinatorTlsCert } : {}),
        ...(flags.coordinatorTlsKey ? { keyFile: flags.coordinatorTlsKey } : {}),
      })
    : undefined;
  const tls = flags.tlsCert && flags.tlsKey ? await readTlsKeyPair({ certFile: flags.tlsCert, keyFile: flags.tlsKey }) : undefined;
  const telemetry = runtime.startTelemetry("watchmesh-console");
  let client: BorderClient | undefined;
  let analystClient: AnalystClient | undefined;
  let server: ConsoleServer | undefined;
  try {
    let officer: OfficerDesk | undefined;
    if (keyFile && coordinatorAddress) {
      const identity = await loadIdentity(keyFile);
      client = await BorderClient.connect({ coordinatorAddress, identity, registry, ...(coordinatorTls ? { credentials: coordinatorTls } : {}) });
      officer = new OfficerDesk({
        client,
        country: identity.country,
        agency: identity.agency,
        ...(flags.location ? { location: flags.location } : {}),
        ...(flags.deadlineMs ? { deadlineMs: flags.deadlineMs } : {}),
      });
    }
    let analyst: ReportDesk | undefined;
    if (analystKeyFile && coordinatorAddress) {
      const identity = await loadIdentity(analystKeyFile);
      analystClient = await AnalystClient.connect({ coordinatorAddress, identity, registry, ...(coordinatorTls ? { credentials: coordinatorTls } : {}) });
      analyst = new ReportDesk({ client: analystClient, country: identity.country, agency: identity.agency, countries: registry.nodeCountries(), epsilon: flags.epsilon });
    }
    const auditor = auditNodes.length > 0 || traces !== undefined
      ? new AuditDesk({ nodeDirs: auditNodes, registry, sealEvery: flags.sealEvery, ...(traces ? { spanFile: traces } : {}) })
      : undefined;
    server = await ConsoleServer.start({
      host: flags.host,
      port: flags.port,
      ...(tls ? { tls } : {}),
      ...(officer ? { officer } : {}),
      ...(analyst ? { analyst } : {}),
      ...(auditor ? { auditor } : {}),
      logger: runtime.serviceLogger("console"),
    });
    process.stdout.write(
      [`Watchmesh console at ${server.url}`, ...describeConsole({ ...(officer ? { officer } : {}), ...(analyst ? { analyst } : {}), ...(auditor ? { auditor } : {}) }), `Open (the token is printed only here): ${server.loginUrl}`, ""].join("\n"),
    );
    await runtime.untilShutdownSignal();
  } finally {
    await server?.stop();
    client?.close();
    analystClient?.close();
    await telemetry.shutdown();
  }
}

export function registerConsoleCommands(program: Command, runtime: CliRuntime): void {
  const consoleCommand = program.command("console").description("the web console: border checks, the regional report, audit trails");
  consoleCommand
    .command("serve")
    .description("serve the web console until Ctrl-C; prints its URL with a one-time access token")
    .option("--mesh <dir>", "a local mesh directory (`watchmesh up`/`demo --dir`): its border key, registry, coordinator, node audit logs and span file")
    .option("--coordinator <host:port>", "coordinator address (default: the --mesh's running coordinator)")
    .option("--key <file>", "the border system's private key (role border, 0600): enables the border check view")
    .option("--analyst-key <file>", "an analysis unit's private key (role analyst, 0600): enables the regional report view (default with --mesh: the mesh's)")
    .option("--epsilon <e>", "ask countries for noised report counts (differential privacy); 0 for exact, small-cell-suppressed counts", parseEpsilon, 0)
    .option("--registry <file>", "signed trust registry (default: the --mesh's)")
    .option("--root-key <file>", "registry root public key file (default: the --mesh's)")
    .option("--coordinator-ca <file>", "call the coordinator over TLS, trusting this PEM CA bundle")
    .option("--coordinator-tls-cert <file>", "the border system's PEM certificate, for a coordinator that demands one")
    .option("--coordinator-tls-key <file>", "PEM private key of --coordinator-tls-cert (mode 0600)")
    .option("--location <id>", "border post or terminal id sent with every check")
    .option("--deadline-ms <ms>", "coordinator gathering deadline for checks", parsePositiveInt)
    .option("--audit-node <dir>", "a country node's data directory whose audit log the audit view reads (repeatable; default with --mesh: every node)", collect, [])
    .option("--traces <file>", "span file (NDJSON) for query timelines (default with --mesh: <mesh>/traces.ndjson)")
    .option("--seal-every <n>", "the nodes' audit sealing interval (a longer unsealed tail fails verification)", parsePositiveInt, DEFAULT_SEAL_EVERY)
    .option("--host <address>", "address to bind (loopback unless --tls-cert and --tls-key are given)", "127.0.0.1")
    .option("--port <port>", "port to listen on (0 picks a free one)", parsePort, DEFAULT_CONSOLE_PORT)
    .option("--tls-cert <file>", "serve HTTPS with this PEM certificate chain (with --tls-key)")
    .option("--tls-key <file>", "PEM private key of --tls-cert (mode 0600)")
    .action(async (flags: ConsoleFlags) => serveConsole(flags, runtime));
}
