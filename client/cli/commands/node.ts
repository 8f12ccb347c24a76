import { parsePositiveInt } from "./options.ts";
import { DEFAULT_NODE_RATE_PER_SECOND } from "../../../common/limits.ts";
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { readPublicKeyFile } from "../../../common/key-files.ts";
import { followFile } from "../../../common/file-follower.ts";
import { MetricsRegistry, parseMetricsAddress, startMetricsServer, type RunningMetricsServer } from "../../../common/metrics.ts";
import { TrustRegistry } from "../../../common/registry.ts";
import { isCountryCode } from "../../../common/country-codes.ts";
import { ErrorCode, WatchmeshError } from "../../../common/errors.ts";
import { matchShardOf, nodeMatchSubjects, nodeQueueGroup } from "../../../common/subjects.ts";
import { initSodium } from "../../../common/sodium.ts";
import { CountryNode, importNdjson, RecordStore, SharingPolicy } from "../../../node/index.ts";
import { loadIdentity } from "../mesh-layout.ts";
import { addNatsOptions, natsAuthFromFlags, type NatsFlags } from "./nats-options.ts";
import type { CliRuntime } from "./runtime.ts";
import { addServerTlsOptions, serverTlsFromFlags, type ServerTlsFlags } from "./tls-options.ts";

interface ImportFlags {
  data: string;
  file: string;
  json?: boolean;
  progress: boolean;
}

async function runImport(flags: ImportFlags): Promise<void> {
  const store = await RecordStore.open({ path: flags.data });
  const showBar = flags.progress && !flags.json && process.stderr.isTTY;
  const bar = showBar ? new cliProgress.SingleBar({ format: "import [{bar}] {percentage}% | {lines} lines" }, cliProgress.Presets.shades_classic) : undefined;
  try {
    bar?.start(1, 0, { lines: 0 });
    const report = await importNdjson(store, { path: flags.file }, {
      onProgress: (progress) => {
        if (!bar) return;
        bar.setTotal(Math.max(progress.totalBytes ?? 1, 1));
        bar.update(progress.bytesRead, { lines: progress.lines });
      },
    });
    bar?.stop();
    if (flags.json) {
      process.stdout.write(JSON.stringify(report) + "\n");
    } else {
      process.stdout.write(
        `${report.lines} lines: ${report.inserted} inserted, ${report.updated} updated, ${report.unchanged} unchanged, ` +
          `${report.deleted} deleted, ${report.notFound} not found, ${report.rejected.length} rejected\n`,
      );
      for (const rejected of report.rejected.slice(0, 50)) {
        process.stdout.write(`  line ${rejected.line}: ${rejected.code} ${rejected.message}\n`);
      }
      if (report.rejected.length > 50) process.stdout.write(`  ... ${report.rejected.length - 50} more rejected lines\n`);
    }
    if (report.rejected.length > 0) process.exitCode = 3;
  } finally {
    bar?.stop();
    await store.close();
  }
}

interface ServeFlags extends NatsFlags, ServerTlsFlags {
  data: string;
  key: string;
  registry: string;
  rootKey: string;
  grpc?: string;
  policy?: string;
  metrics?: string;
  rateLimit?: number;
}

async function runServe(flags: ServeFlags, runtime: CliRuntime): Promise<void> {
  await initSodium();
  const rootKey = await readPublicKeyFile(flags.rootKey);
  const registry = await TrustRegistry.load(flags.registry, rootKey);
  const sharingPolicy = flags.policy === undefined ? undefined : await SharingPolicy.load(flags.policy);
  const identity = await loadIdentity(flags.key);
  const grpcCredentials = await serverTlsFromFlags(flags);
  const metricsAddress = flags.metrics === undefined ? undefined : parseMetricsAddress(flags.metrics);
  const metricsRegistry = metricsAddress ? new MetricsRegistry() : undefined;
  const natsServers = flags.nats ?? runtime.natsUrl;
  const natsAuth = await natsAuthFromFlags(flags);
  const telemetry = runtime.startTelemetry(`watchmesh-node-${identity.country}`);
  const node = await CountryNode.start({
    identity,
    registry,
    dataDir: flags.data,
    ...(natsServers ? { natsServers: natsServers.split(",") } : {}),
    ...(natsAuth ? { natsAuth } : {}),
    ...(flags.grpc ? { grpcAddress: flags.grpc } : {}),
    ...(grpcCredentials ? { grpcCredentials } : {}),
    ...(sharingPolicy ? { sharingPolicy } : {}),
    ...(metricsRegistry ? { metricsRegistry } : {}),
    ...(flags.rateLimit ? { rateLimit: { perSecond: flags.rateLimit, burst: 2 * flags.rateLimit } } : {}),
    logger: runtime.serviceLogger("node"),
  });
  let metricsServer: RunningMetricsServer | undefined;
  try {
    if (metricsAddress && metricsRegistry) metricsServer = await startMetricsServer({ ...metricsAddress, registry: metricsRegistry });
  } catch (error) {
    await node.stop();
    throw error;
  }
  if (metricsServer) process.stderr.write(`node metrics on http://${metricsServer.host}:${metricsServer.port}/metrics\n`);
  // A new registry or policy published to these files applies within about a second, without a restart.
  const logger = runtime.serviceLogger("node");
  const followers = [
    followFile({ path: flags.registry, what: "trust registry", logger, load: (file) => TrustRegistry.load(file, rootKey), apply: (next) => node.updateRegistry(next) }),
    ...(flags.policy === undefined
      ? []
      : [followFile({ path: flags.policy, what: "sharing policy", logger, load: (file) => SharingPolicy.load(file), apply: (next) => node.updateSharingPolicy(next) })]),
  ];
  process.stderr.write(`node ${node.country} serving${node.grpcPort ? ` gRPC on port ${node.grpcPort}` : ""}${natsServers ? " and NATS" : ""}\n`);
  await runtime.untilShutdownSignal();
  for (const follower of followers) follower.stop();
  await node.stop();
  await metricsServer?.stop();
  await telemetry.shutdown();
}

function printNodeSubjects(country: string, json: boolean): void {
  if (!isCountryCode(country)) throw new WatchmeshError(ErrorCode.InvalidArgument, `--country must be an ISO 3166-1 alpha-3 code, got "${country}"`);
  const subjects = nodeMatchSubjects(country);
  const queueGroup = nodeQueueGroup(country);
  if (json) process.stdout.write(JSON.stringify({ country, shard: matchShardOf(country), queueGroup, subjects }) + "\n");
  else process.stdout.write(subjects.map((subject) => `${subject} ${queueGroup}\n`).join(""));
}

export function registerNodeCommands(program: Command, runtime: CliRuntime): void {
  const node = program.command("node").description("country node: import records, serve queries");
  node
    .command("import")
    .description("import or update records from an NDJSON file (idempotent; bad lines are reported and skipped)")
    .requiredOption("--data <dir>", "the node's LMDB directory (created if missing)")
    .requiredOption("--file <file.ndjson>", "records in the native NDJSON format")
    .option("--json", "print the import report as JSON")
    .option("--no-progress", "no progress bar")
    .action(async (flags: ImportFlags) => runImport(flags));
  node
    .command("stats")
    .description("count the records in a node's store")
    .requiredOption("--data <dir>", "the node's LMDB directory")
    .action(async (flags: { data: string }) => {
      const store = await RecordStore.open({ path: flags.data });
      try {
        process.stdout.write(JSON.stringify(store.stats()) + "\n");
      } finally {
        await store.close();
      }
    });
  node
    .command("subjects")
    .description("the NATS subjects and queue group a country's nodes take queries from (for its NATS user's permissions)")
    .requiredOption("--country <ISO3>", "the country")
    .option("--json", "print them as JSON")
    .action((flags: { country: string; json?: boolean }) => printNodeSubjects(flags.country, flags.json === true));
  addServerTlsOptions(addNatsOptions(
    node
      .command("serve")
      .description("answer signed queries over NATS and/or gRPC until Ctrl-C")
      .requiredOption("--data <dir>", "the node's LMDB directory")
      .requiredOption("--key <file>", "the node's private key file (role node, mode 0600)")
      .requiredOption("--registry <file>", "signed trust registry")
      .requiredOption("--root-key <file>", "registry root public key file")
      .option("--grpc <host:port>", "serve CountryNode.Match over gRPC on this address")
      .option("--policy <file>", "sharing policy (who may query, for what, daily quotas); default: share with every member")
      .option("--metrics <host:port>", "serve Prometheus metrics on http://host:port/metrics (port 0 picks one)")
      .option("--rate-limit <per-second>", `queries a second one requesting country/agency may send (bursts of twice that; default ${DEFAULT_NODE_RATE_PER_SECOND})`, parsePositiveInt),
  )).action(async (flags: ServeFlags) => runServe(flags, runtime));
  node
    .command("delete")
    .description("delete records by id (their index entries go with them)")
    .requiredOption("--data <dir>", "the node's LMDB directory")
    .argument("<ids...>", "record ids")
    .action(async (ids: string[], flags: { data: string }) => {
      const store = await RecordStore.open({ path: flags.data });
      try {
        for (const id of ids) process.stdout.write(`${id}: ${(await store.remove(id)) ? "deleted" : "not found"}\n`);
      } finally {
        await store.close();
      }
    });
}
