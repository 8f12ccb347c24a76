// The deployment files in deploy/ are not code, but they break like code: a NATS config that no
// longer parses, a variable nobody sets, a manifest that is not YAML, a service that gets its NATS
// password from an environment value, a user without the rights the application needs. These tests
// run the real `nats-server -t` on every complete NATS config (and on the hub config embedded in the
// Kubernetes manifests), parse compose.yaml and k8s/*.yaml, and start one hub server from
// nats/cluster-a.conf and nats/accounts.conf to run the application's JetStream code under each
// user. Each nats-server call is bounded by a timeout.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { AnalystClient } from "../../client/analyst-client.ts";
import { BorderClient } from "../../client/border-client.ts";
import { collectFollowupReplies, requestFollowup } from "../../client/followup-client.ts";
import { ensureFollowupStream, ensureNotifyStream, consumeDurably } from "../../common/jetstream.ts";
import { silentLogger } from "../../common/logger.ts";
import { runCli } from "../helpers/cli.ts";
import { connectNats } from "../../common/nats-connection.ts";
import { startNatsServer, type RunningNatsServer } from "../../common/nats-server.ts";
import { AnswerStatus, decodeEnvelope, decodeHitNotification, decodeMatchQuery, encodeEnvelope, encodeMatchAnswer, FollowupDecision } from "../../common/proto.ts";
import { sha256 } from "../../common/signing.ts";
import {
  FOLLOWUP_STREAM,
  followupReplySubject,
  followupRequestSubject,
  MATCH_ALL_SUBJECT,
  matchCountrySubject,
  matchShardOf,
  matchShardSubject,
  nodeMatchSubjects,
  nodeQueueGroup,
  NOTIFY_STREAM,
  notifyConsumer,
  notifySubject,
} from "../../common/subjects.ts";
import { Coordinator } from "../../coordinator/index.ts";
import { CountryNode, decideFollowup, FollowupDesk, type PersonRecord } from "../../node/index.ts";
import { REPO_ROOT } from "../helpers/cli.ts";
import { makeTrust, type TestTrust } from "../helpers/identities.ts";
import { createIdentity, MemberRole, publicPart } from "../../common/key-files.ts";
import { memberFor, signRegistry, TrustRegistry } from "../../common/registry.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const DEPLOY = path.join(REPO_ROOT, "deploy");
const NATS_DIR = path.join(DEPLOY, "nats");
const K8S_DIR = path.join(DEPLOY, "k8s");
const CHECK_TIMEOUT_MS = 10_000;

/** Values for variables whose content nats-server parses as more than a plain string. */
const PLACEHOLDERS: Readonly<Record<string, string>> = {
  NATS_HUB_LEAF_URL: "nats-leaf://leaf-FRA:t-placeholder@127.0.0.1:7422",
  NATS_SERVER_NAME: "t-server",
  POD_NAME: "nats-0",
};
const placeholderFor = (name: string): string => PLACEHOLDERS[name] ?? "t-placeholder";

/** bcrypt (cost 10) of "t-coord", as deploy/nats/selftest.sh uses it. */
const BCRYPT_HASH = "$2y$10$.vgxKrYGx3t43p.ukykqTesuFKhUOG7XVvZRUNwJ3P/MQcByHaSIu";

const withoutComments = (text: string): string => text.replace(/#.*$/gm, "");

function includesOf(file: string): string[] {
  const text = withoutComments(readFileSync(file, "utf8"));
  return [...text.matchAll(/^\s*include\s+"?([^"\s]+)"?/gm)].map((match) => path.resolve(path.dirname(file), match[1] ?? ""));
}

/** Quoted strings are never variable references ("$JS.API.INFO" is a subject). */
const withoutQuoted = (text: string): string => text.replace(/"[^"\n]*"/g, '""');

/** Every `$VARIABLE` a config references, its includes' too. */
function variablesOf(file: string): string[] {
  const found = new Set<string>();
  for (const each of [file, ...includesOf(file)]) {
    const text = withoutQuoted(withoutComments(readFileSync(each, "utf8")));
    for (const match of text.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)) if (match[1]) found.add(match[1]);
  }
  return [...found].sort();
}

const placeholderEnv = (names: string[]): Record<string, string> => Object.fromEntries(names.map((name) => [name, placeholderFor(name)]));

interface CheckResult {
  code: number | null;
  output: string;
}

/**
 * `nats-server -t -c <file>` with exactly the given variables (plus PATH), run from `cwd`: a config
 * must not depend on the caller's working directory or environment.
 */
function natsServerCheck(file: string, vars: Record<string, string>, cwd: string): Promise<CheckResult> {
  return new Promise((resolve, reject) => {
    execFile(
      "nats-server",
      ["-t", "-c", file],
      { cwd, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...vars }, timeout: CHECK_TIMEOUT_MS, killSignal: "SIGKILL" },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (!error) return resolve({ code: 0, output });
        if (error.killed) return reject(new Error(`nats-server -t did not finish within ${CHECK_TIMEOUT_MS} ms`));
        // e.g. ENOENT: nats-server is not on PATH
        if (typeof error.code !== "number") return reject(new Error(`cannot run nats-server: ${error.message}`, { cause: error }));
        resolve({ code: error.code, output });
      },
    );
  });
}

// A config is complete unless another config includes it (accounts.conf is such a fragment).
const natsConfs = readdirSync(NATS_DIR)
  .filter((name) => name.endsWith(".conf"))
  .sort()
  .map((name) => path.join(NATS_DIR, name));
const fragments = new Set(natsConfs.flatMap(includesOf));
const completeConfs = natsConfs.filter((file) => !fragments.has(file));

let scratch: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  scratch = await makeTempDir("watchmesh-deploy-test-");
});
afterAll(async () => {
  await scratch?.remove();
});

describe("deploy/nats: nats-server -t", () => {
  it("finds the hub and country configs, and accounts.conf as a fragment they include", () => {
    const names = completeConfs.map((file) => path.basename(file));
    expect(names).toEqual(expect.arrayContaining(["cluster-a.conf", "cluster-b.conf", "cluster-c.conf", "leaf-country.conf"]));
    expect([...fragments].map((file) => path.basename(file))).toEqual(["accounts.conf"]);
    for (const fragment of fragments) expect(existsSync(fragment)).toBe(true);
  });

  it.each(completeConfs.map((file) => [path.basename(file), file] as const))("%s is valid with its variables set", async (_name, file) => {
    const vars = variablesOf(file);
    expect(vars.length).toBeGreaterThan(0); // every complete config takes its secrets from the environment
    const result = await natsServerCheck(file, placeholderEnv(vars), scratch.path);
    expect(result.output).toMatch(/is valid/);
    expect(result.code).toBe(0);
  });

  it.each(completeConfs.map((file) => [path.basename(file), file] as const))("%s is refused when a variable is missing", async (_name, file) => {
    const [missing, ...rest] = variablesOf(file);
    expect(missing).toBeDefined();
    const result = await natsServerCheck(file, placeholderEnv(rest), scratch.path);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(`'${missing}'`);
  });

  it("grants each node user the subjects `watchmesh node subjects` prints for its country, in its queue group", async () => {
    const accounts = withoutComments(readFileSync(path.join(NATS_DIR, "accounts.conf"), "utf8"));
    for (const country of ["FRA", "DEU", "ESP"]) {
      const printed = await runCli(["node", "subjects", "--country", country]);
      expect(printed.code).toBe(0);
      const lines = printed.stdout.trim().split("\n");
      expect(lines).toHaveLength(3);
      for (const line of lines) expect(accounts, `${country}: ${line}`).toContain(`"${line}"`);
    }
    const json = await runCli(["node", "subjects", "--country", "DEU", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ country: "DEU", shard: matchShardOf("DEU"), queueGroup: nodeQueueGroup("DEU"), subjects: nodeMatchSubjects("DEU") });
    const invalid = await runCli(["node", "subjects", "--country", "fr"]);
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain("INVALID_ARGUMENT");
  });

  it("takes a bcrypt hash only inside double quotes (deploy/README.md, accounts.conf)", async () => {
    const file = path.join(NATS_DIR, "cluster-a.conf");
    const vars = placeholderEnv(variablesOf(file));
    const quoted = await natsServerCheck(file, { ...vars, NATS_COORDINATOR_PASSWORD: `"${BCRYPT_HASH}"` }, scratch.path);
    expect(quoted.output).toMatch(/is valid/);
    expect(quoted.code).toBe(0);
    const bare = await natsServerCheck(file, { ...vars, NATS_COORDINATOR_PASSWORD: BCRYPT_HASH }, scratch.path);
    expect(bare.code).not.toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// YAML: compose.yaml and k8s/*.yaml
// ---------------------------------------------------------------------------------------------

interface ComposeService {
  command?: string[];
  environment?: Record<string, unknown>;
  secrets?: (string | { source: string; target?: string })[];
  volumes?: string[];
  networks?: string[] | Record<string, unknown>;
  depends_on?: string[] | Record<string, unknown>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  networks?: Record<string, unknown>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string }>;
}

interface K8sContainer {
  name: string;
  args?: string[];
  env?: { name: string; value?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
  resources?: string[];
  spec?: { template?: { spec?: { containers?: K8sContainer[]; volumes?: { name: string; secret?: unknown }[] } } };
}

function parseYamlDocuments(file: string): unknown[] {
  const documents = parseAllDocuments(readFileSync(file, "utf8"), { merge: true });
  const list = Array.isArray(documents) ? documents : [];
  for (const document of list) expect(document.errors.map((error) => error.message), file).toEqual([]);
  return list.map((document) => document.toJS() as unknown).filter((value) => value !== null);
}

const keysOf = (value: string[] | Record<string, unknown> | undefined): string[] => (Array.isArray(value) ? value : Object.keys(value ?? {}));
const argAfter = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];
const isServe = (args: string[] | undefined): args is string[] => args?.[1] === "serve" && (args[0] === "node" || args[0] === "coordinator");

describe("deploy/compose.yaml", () => {
  const file = path.join(DEPLOY, "compose.yaml");

  it("parses as one YAML document whose references all resolve", () => {
    const documents = parseYamlDocuments(file);
    expect(documents).toHaveLength(1);
    const compose = parse(readFileSync(file, "utf8"), { merge: true }) as ComposeFile;
    const services = Object.keys(compose.services);
    expect(services.length).toBeGreaterThan(0);
    for (const [name, service] of Object.entries(compose.services)) {
      for (const network of keysOf(service.networks)) expect(Object.keys(compose.networks ?? {}), `${name} network ${network}`).toContain(network);
      for (const dependency of keysOf(service.depends_on)) expect(services, `${name} depends on ${dependency}`).toContain(dependency);
      for (const secret of service.secrets ?? []) {
        expect(Object.keys(compose.secrets ?? {}), `${name} secret`).toContain(typeof secret === "string" ? secret : secret.source);
      }
      for (const volume of service.volumes ?? []) {
        const source = volume.split(":")[0] ?? "";
        if (!source.startsWith(".") && !source.startsWith("/")) expect(Object.keys(compose.volumes ?? {}), `${name} volume ${source}`).toContain(source);
      }
    }
  });

  it("gives every node and coordinator a NATS user and a password file from a compose secret, never an env value", () => {
    const compose = parse(readFileSync(file, "utf8"), { merge: true }) as ComposeFile;
    const serving = Object.entries(compose.services).filter(([, service]) => isServe(service.command));
    expect(serving.map(([name]) => name)).toEqual(expect.arrayContaining(["coordinator-1", "coordinator-2", "node-fra", "node-deu", "node-esp"]));
    for (const [name, service] of serving) {
      const command = service.command ?? [];
      expect(argAfter(command, "--nats-user"), name).toBeTruthy();
      const passwordFile = argAfter(command, "--nats-password-file");
      expect(passwordFile, name).toMatch(/^\/run\/secrets\//);
      const targets = (service.secrets ?? []).map((secret) => (typeof secret === "string" ? secret : (secret.target ?? secret.source)));
      expect(targets, name).toContain(path.posix.relative("/run/secrets", passwordFile ?? ""));
      expect(Object.keys(service.environment ?? {}).filter((key) => /PASSWORD/i.test(key)), name).toEqual([]);
    }
  });
});

describe("deploy/k8s", () => {
  const files = readdirSync(K8S_DIR)
    .filter((name) => name.endsWith(".yaml"))
    .sort()
    .map((name) => path.join(K8S_DIR, name));

  it.each(files.map((file) => [path.basename(file), file] as const))("%s parses, every document with apiVersion and kind", (_name, file) => {
    const documents = parseYamlDocuments(file) as K8sObject[];
    expect(documents.length).toBeGreaterThan(0);
    for (const document of documents) {
      expect(document.apiVersion, file).toBeTruthy();
      expect(document.kind, file).toBeTruthy();
    }
  });

  it("kustomization.yaml lists exactly the manifests in the folder", () => {
    const [kustomization] = parseYamlDocuments(path.join(K8S_DIR, "kustomization.yaml")) as K8sObject[];
    const manifests = files.map((file) => path.basename(file)).filter((name) => name !== "kustomization.yaml");
    expect([...(kustomization?.resources ?? [])].sort()).toEqual(manifests);
  });

  it("nodes and coordinators log in with a NATS user and a password file from a Secret volume, never an env value", () => {
    const objects = files.filter((file) => !file.endsWith("kustomization.yaml")).flatMap((file) => parseYamlDocuments(file) as K8sObject[]);
    let serving = 0;
    for (const object of objects) {
      const pod = object.spec?.template?.spec;
      for (const container of pod?.containers ?? []) {
        if (!isServe(container.args)) continue;
        serving++;
        const where = `${object.metadata?.name ?? "?"}/${container.name}`;
        expect(argAfter(container.args, "--nats-user"), where).toBeTruthy();
        const passwordFile = argAfter(container.args, "--nats-password-file") ?? "";
        const mount = container.volumeMounts?.find((each) => passwordFile.startsWith(`${each.mountPath}/`));
        expect(mount, `${where}: password file on a mounted volume`).toBeDefined();
        expect(pod?.volumes?.find((volume) => volume.name === mount?.name)?.secret, `${where}: a Secret volume`).toBeDefined();
        expect((container.env ?? []).map((each) => each.name).filter((name) => /PASSWORD/i.test(name)), where).toEqual([]);
      }
    }
    expect(serving).toBeGreaterThanOrEqual(2); // the coordinator and the FRA node
  });

  it("nats.yaml embeds accounts.conf verbatim and a hub config that nats-server accepts", async () => {
    const [config] = parseYamlDocuments(path.join(K8S_DIR, "nats.yaml")) as K8sObject[];
    const data = config?.data ?? {};
    expect(config?.kind).toBe("ConfigMap");
    expect(data["accounts.conf"]).toBe(readFileSync(path.join(NATS_DIR, "accounts.conf"), "utf8"));
    const dir = path.join(scratch.path, "k8s-nats");
    await mkdir(dir);
    for (const [name, text] of Object.entries(data)) await writeFile(path.join(dir, name), text);
    const file = path.join(dir, "nats.conf");
    const result = await natsServerCheck(file, placeholderEnv(variablesOf(file)), scratch.path);
    expect(result.output).toMatch(/is valid/);
    expect(result.code).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// JetStream rights: the application's own code, run under the users of accounts.conf
// ---------------------------------------------------------------------------------------------

/**
 * cluster-a.conf as a single server on loopback: its cluster and leaf-node blocks and its fixed
 * listen/monitoring addresses removed (startNatsServer picks a free port), JetStream stored in `dir`,
 * accounts.conf copied unchanged beside it. The accounts, users and permissions are the repository's.
 */
async function singleHubConfig(dir: string): Promise<string> {
  const original = readFileSync(path.join(NATS_DIR, "cluster-a.conf"), "utf8");
  const text = original
    .replace(/^cluster \{[^}]*\}\n/m, "")
    .replace(/^leafnodes \{[^}]*\}\n/m, "")
    .replace(/^(listen|http): .*\n/gm, "")
    .replace(/store_dir: "\/data"/, `store_dir: "${path.join(dir, "jetstream")}"`);
  // Every rewrite must have matched, or this would silently test something else.
  expect(text).not.toMatch(/^(cluster|leafnodes) \{|^(listen|http): |"\/data"/m);
  expect(text).toMatch(/include "accounts.conf"/);
  await copyFile(path.join(NATS_DIR, "accounts.conf"), path.join(dir, "accounts.conf"));
  const file = path.join(dir, "hub.conf");
  await writeFile(file, text);
  return file;
}

/** Placeholder passwords of the hub users, as the server reads them from its environment. */
const HUB_PASSWORDS: Readonly<Record<string, string>> = {
  coordinator: "t-coord",
  "node-FRA": "t-node-fra",
  "node-DEU": "t-node-deu",
  "node-ESP": "t-node-esp",
  ops: "t-ops",
};
const passwordVariable = (user: string): string => `NATS_${user.replace("-", "_").toUpperCase()}_PASSWORD`;

/** Starts nats-server with the config's password variables set for the child process only. */
async function startHub(file: string): Promise<RunningNatsServer> {
  const vars = placeholderEnv(variablesOf(file));
  for (const [user, password] of Object.entries(HUB_PASSWORDS)) vars[passwordVariable(user)] = password;
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars); // the child inherits the environment at spawn time
  try {
    return await startNatsServer({ extraArgs: ["-c", file] });
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** Rejects the way nats.js reports a request to a subject the user may not publish to. */
async function expectPermissionDenied(work: Promise<unknown>, subject: string): Promise<void> {
  await expect(work, subject).rejects.toThrow(/permissions violation for publish/i);
}

/** True when the server refuses the subscription (it answers the PING after its -ERR). */
async function subscriptionRefused(connection: NatsConnection, subject: string): Promise<boolean> {
  let refused = false;
  const sub = connection.subscribe(subject, {
    callback: (error) => {
      refused ||= error !== null;
    },
  });
  await connection.flush();
  refused ||= sub.isClosed();
  if (!sub.isClosed()) sub.unsubscribe();
  return refused;
}

const suspect: PersonRecord = {
  kind: "person",
  id: "DEU-P-9",
  names: ["Jean Dupont"],
  dob: "1980-05-01",
  documents: [{ type: "passport", number: "C01X00T47", country: "DEU" }],
  action: "discreet_check",
};

describe("deploy/nats/accounts.conf: JetStream rights on a running hub server", () => {
  let hub: RunningNatsServer;
  let trust: TestTrust;
  let deuNode: CountryNode;
  let coordinator: Coordinator;
  let client: BorderClient;
  const connections: NatsConnection[] = [];
  let ops: NatsConnection;
  let deu: NatsConnection; // what a DEU node (or its operator's CLI) logs in as: node-DEU
  let fra: NatsConnection; // a FRA requester, logged in as node-FRA
  let esp: NatsConnection; // another country's node, trying to read what is not its own
  let coordinatorConnection: NatsConnection; // what coordinators log in as
  const login = async (user: string): Promise<NatsConnection> => {
    const password = HUB_PASSWORDS[user];
    if (password === undefined) throw new Error(`no placeholder password for ${user}`);
    const connection = await connectNats({ servers: hub.url, name: `deploy-test-${user}`, auth: { user, password } });
    connections.push(connection);
    return connection;
  };

  beforeAll(async () => {
    const dir = path.join(scratch.path, "hub");
    await mkdir(dir);
    hub = await startHub(await singleHubConfig(dir));
    ops = await login("ops");
    // Operators create the streams (deploy/README.md); the application's own definitions.
    await ensureNotifyStream(ops);
    await ensureFollowupStream(ops);
    trust = await makeTrust(["DEU"], "FRA");
    // The DEU node answers queries as node-DEU; this test consumes DEU's notifications itself (below),
    // so the node does not.
    deuNode = await CountryNode.start({
      identity: trust.nodes.get("DEU") ?? trust.root,
      registry: trust.registry,
      dataDir: path.join(scratch.path, "DEU"),
      natsServers: hub.url,
      natsAuth: { user: "node-DEU", password: HUB_PASSWORDS["node-DEU"] ?? "" },
      receiveNotifications: false,
      logger: silentLogger(),
    });
    await deuNode.store.upsert(suspect);
    coordinator = await Coordinator.start({
      registry: trust.registry,
      natsServers: hub.url,
      natsAuth: { user: "coordinator", password: HUB_PASSWORDS.coordinator ?? "" },
      grpcAddress: "127.0.0.1:0",
      logger: silentLogger(),
    });
    client = await BorderClient.connect({ coordinatorAddress: `127.0.0.1:${coordinator.grpcPort}`, identity: trust.border, registry: trust.registry });
    deu = await login("node-DEU");
    fra = await login("node-FRA");
    esp = await login("node-ESP");
    coordinatorConnection = await login("coordinator");
  });
  afterAll(async () => {
    client?.close();
    await coordinator?.stop();
    await deuNode?.stop();
    for (const connection of connections) await connection.close().catch(() => undefined);
    await hub?.stop();
  });

  it("coordinator: a hit notification lands in WATCHMESH_NOTIFY; node-DEU creates its durable, pulls and acks it", async () => {
    const result = await client.check({ person: { names: ["Jean Dupont"], dob: "1980-05-01" } });
    expect(result.results.find((each) => each.country === "DEU")?.status).toBe("hit");

    // node-DEU, through the application's consumeDurably: CONSUMER.INFO, then CONSUMER.CREATE with its
    // own filter (the durable does not exist yet), then MSG.NEXT.
    const messages = await consumeDurably(deu, { stream: NOTIFY_STREAM, durable: notifyConsumer("DEU"), filterSubject: notifySubject("DEU") });
    let received: JsMsg | undefined;
    for await (const message of messages) {
      received = message;
      break;
    }
    expect(received?.subject).toBe(notifySubject("DEU"));
    const notification = decodeHitNotification(received?.data ?? new Uint8Array());
    expect(notification).toMatchObject({ notificationId: `${result.queryId}:DEU`, ownerCountry: "DEU", requestingCountry: "FRA" });
    // ackAck: resolves once the server has processed the ack on $JS.ACK.WATCHMESH_NOTIFY.watchmesh-notify-DEU.…
    expect(await received?.ackAck()).toBe(true);
    await messages.close();

    const consumer = await (await jetstreamManager(ops)).consumers.info(NOTIFY_STREAM, notifyConsumer("DEU"));
    expect(consumer.config.filter_subject).toBe(notifySubject("DEU"));
    expect(consumer).toMatchObject({ num_pending: 0, num_ack_pending: 0 });
    expect(consumer.ack_floor.stream_seq).toBe(consumer.delivered.stream_seq);

    // It was delivered into node-DEU's own inbox, which no other user may read (next tests).
  });

  it("aggregate queries travel with the hub's rights: the coordinator publishes, node-DEU answers its signed counts", async () => {
    const analyst = await AnalystClient.connect({ coordinatorAddress: `127.0.0.1:${coordinator.grpcPort}`, identity: trust.analyst, registry: trust.registry });
    try {
      const month = new Date().toISOString().slice(0, 7);
      const result = await analyst.aggregate({ fromMonth: month, toMonth: month });
      expect(result.countries.map((line) => `${line.country}:${line.status}`)).toEqual(["DEU:answered"]);
    } finally {
      analyst.close();
    }
  });

  it("node-DEU cannot read, create, pull from or ack another country's consumers, nor manage the streams", async () => {
    const deuJsm = await jetstreamManager(deu);
    const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    await expectPermissionDenied(deuJsm.consumers.info(NOTIFY_STREAM, notifyConsumer("FRA")), "CONSUMER.INFO of FRA's notifications");
    await expectPermissionDenied(deuJsm.consumers.info(FOLLOWUP_STREAM, "watchmesh-followup-FRA"), "CONSUMER.INFO of FRA's follow-ups");
    await expectPermissionDenied(
      deuJsm.consumers.add(NOTIFY_STREAM, { durable_name: notifyConsumer("FRA"), filter_subject: notifySubject("FRA") }),
      "creating FRA's notification consumer",
    );
    await expectPermissionDenied(
      deuJsm.consumers.add(NOTIFY_STREAM, { durable_name: notifyConsumer("DEU"), filter_subject: notifySubject("FRA") }),
      "its own consumer name with FRA's filter",
    );
    // Taking FRA's follow-up durable name first, with a filter DEU may use.
    await expectPermissionDenied(
      deuJsm.consumers.add(FOLLOWUP_STREAM, { durable_name: "watchmesh-followup-FRA", filter_subject: followupReplySubject("DEU") }),
      "squatting FRA's follow-up durable name",
    );
    // The pre-2.9 create subject names no filter: granted to nobody.
    await expectPermissionDenied(
      deu.request(`$JS.API.CONSUMER.DURABLE.CREATE.${NOTIFY_STREAM}.${notifyConsumer("DEU")}`, encode({ stream_name: NOTIFY_STREAM, config: { durable_name: notifyConsumer("DEU"), filter_subject: notifySubject("FRA") } })),
      "DURABLE.CREATE",
    );
    for (const subject of [`$JS.API.CONSUMER.MSG.NEXT.${NOTIFY_STREAM}.${notifyConsumer("FRA")}`, `$JS.API.CONSUMER.MSG.NEXT.${FOLLOWUP_STREAM}.watchmesh-followup-FRA`, `$JS.ACK.${NOTIFY_STREAM}.${notifyConsumer("FRA")}.1.1.1.1.0`]) {
      await expectPermissionDenied(deu.request(subject, encode({ batch: 1, expires: 1_000_000_000 })), subject);
    }
    // An ordered consumer on the replies to FRA (what `followup replies` creates for FRA).
    await expectPermissionDenied(jetstream(deu).consumers.get(FOLLOWUP_STREAM, { filter_subjects: followupReplySubject("FRA") }), "reading FRA's follow-up replies");
    // The filter in the create subject binds: the server refuses a body with another filter.
    const mismatch = await deu.request(
      `$JS.API.CONSUMER.CREATE.${FOLLOWUP_STREAM}.probe.${followupReplySubject("DEU")}`,
      encode({ stream_name: FOLLOWUP_STREAM, config: { name: "probe", filter_subject: followupRequestSubject("FRA") } }),
    );
    expect((JSON.parse(new TextDecoder().decode(mismatch.data)) as { error?: { err_code?: number } }).error?.err_code).toBe(10131);
    // Stream management and direct reads stay with operators.
    await expectPermissionDenied(deuJsm.streams.purge(NOTIFY_STREAM), "STREAM.PURGE");
    await expectPermissionDenied(deuJsm.streams.delete(FOLLOWUP_STREAM), "STREAM.DELETE");
    await expectPermissionDenied(deuJsm.streams.getMessage(NOTIFY_STREAM, { seq: 1 }), "STREAM.MSG.GET");
    await expectPermissionDenied(jetstream(deu).publish(notifySubject("FRA"), new Uint8Array([1])), "publishing a notification");
  });

  it("node-ESP cannot pass for DEU: DEU's queries are not its to take, and its answers as DEU are thrown away", async () => {
    const esp = await login("node-ESP");
    const refused = async (subject: string, queue?: string): Promise<boolean> => {
      let denied = false;
      const sub = esp.subscribe(subject, { ...(queue ? { queue } : {}), callback: (error) => void (denied ||= error !== null) });
      await esp.flush();
      denied ||= sub.isClosed();
      if (!sub.isClosed()) sub.unsubscribe();
      return denied;
    };
    // The config lets node-ESP take every subject an ESP node listens on, in ESP's queue group only.
    for (const subject of nodeMatchSubjects("ESP")) expect(await refused(subject, nodeQueueGroup("ESP")), subject).toBe(false);
    expect(await refused(MATCH_ALL_SUBJECT, nodeQueueGroup("DEU")), "joining DEU's queue group").toBe(true);
    expect(await refused(matchCountrySubject("DEU")), "DEU's own subject").toBe(true);
    expect(await refused(matchShardSubject(matchShardOf("DEU")), nodeQueueGroup("ESP")), "DEU's shard").toBe(true);
    // What node-ESP may do: answer each query it receives as ESP, claiming to be DEU. ESP must be a
    // node country for the coordinator to send it anything (on ESP's own subject): a registry that
    // lists it, with no ESP node running, so ESP's answers come from node-ESP's login only.
    const espIdentity = createIdentity(MemberRole.Node, "ESP", "node-agency");
    const withEsp = TrustRegistry.fromSignedText(
      signRegistry({ ...trust.registry.document, version: trust.registry.version + 1, members: [...trust.registry.document.members, memberFor(publicPart(espIdentity))] }, trust.root),
      publicPart(trust.root),
    );
    const espCoordinator = await Coordinator.start({
      registry: withEsp,
      natsServers: hub.url,
      natsAuth: { user: "coordinator", password: HUB_PASSWORDS.coordinator ?? "" },
      grpcAddress: "127.0.0.1:0",
      logger: silentLogger(),
    });
    const espClient = await BorderClient.connect({ coordinatorAddress: `127.0.0.1:${espCoordinator.grpcPort}`, identity: trust.border, registry: withEsp });
    const deuKeyId = trust.nodes.get("DEU")?.keyId ?? "";
    let forged = 0;
    const sub = esp.subscribe(matchCountrySubject("ESP"), {
      queue: nodeQueueGroup("ESP"),
      callback: (_error, msg) => {
        const query = decodeEnvelope(msg.data);
        const payload = encodeMatchAnswer({
          queryId: decodeMatchQuery(query.payload).queryId,
          respondingCountry: "DEU",
          status: AnswerStatus.NoHit,
          hits: [],
          errorCode: "",
          nodeElapsedUs: 1,
          answeredAtMs: Date.now(),
          queryDigest: sha256(query.payload),
        });
        msg.respond(encodeEnvelope({ payload, keyId: deuKeyId, signature: new Uint8Array(64).fill(1), tags: new Uint8Array(20).fill(2) }));
        forged += 1;
      },
    });
    await esp.flush();
    try {
      // ESP never answers as itself: the check ends at its deadline.
      const result = await espClient.check({ person: { names: ["Jean Dupont"], dob: "1980-05-01" } }, { deadlineMs: 1500 });
      expect(forged).toBeGreaterThan(0);
      // The coordinator kept waiting for DEU's authentic answer: the hit, not the forged no-hit.
      expect(result.results.find((each) => each.country === "DEU")).toMatchObject({ status: "hit" });
      expect(result.results.find((each) => each.country === "ESP")).toMatchObject({ status: "unavailable" });
    } finally {
      sub.unsubscribe();
      espClient.close();
      await espCoordinator.stop();
    }
  });

  it("inboxes: each user reads below its own prefix only; coordinators' query inboxes are theirs alone", async () => {
    // What node-ESP may not read: every other user's inbox, and any wildcard covering them.
    for (const subject of [">", "_INBOX.>", "_INBOX.*.*", "_INBOX.*.>", "_INBOX_node-DEU.>", "_INBOX_node-FRA.>", "_INBOX_coordinator.>", "_INBOX.watchmesh.>", "_INBOX.watchmesh.*"]) {
      expect(await subscriptionRefused(esp, subject), subject).toBe(true);
    }
    expect(await subscriptionRefused(esp, "_INBOX_node-ESP.>")).toBe(false);
    expect(await subscriptionRefused(coordinatorConnection, "_INBOX.watchmesh.any.*")).toBe(false);
    expect(await subscriptionRefused(coordinatorConnection, "_INBOX_coordinator.>")).toBe(false);
    expect(await subscriptionRefused(coordinatorConnection, "_INBOX_node-DEU.>")).toBe(true);
    // node-DEU may subscribe nowhere else either: that its JetStream calls in these tests get their
    // replies shows the application puts each logged-in user's inbox under its own prefix.
    expect(await subscriptionRefused(deu, "_INBOX.*.*")).toBe(true);
  });

  it("coordinator: checks its stream and publishes notifications, but reads no consumer and sends no follow-up", async () => {
    const manager = await jetstreamManager(coordinatorConnection);
    expect((await manager.streams.info(NOTIFY_STREAM)).config.subjects).toEqual([notifySubject("*")]);
    await expectPermissionDenied(manager.streams.info(FOLLOWUP_STREAM), "STREAM.INFO WATCHMESH_FOLLOWUP");
    await expectPermissionDenied(jetstream(coordinatorConnection).consumers.get(NOTIFY_STREAM, { filter_subjects: notifySubject("DEU") }), "a consumer on DEU's notifications");
    await expectPermissionDenied(jetstream(coordinatorConnection).publish(followupRequestSubject("DEU"), new Uint8Array([1])), "a follow-up request");
  });

  it("follow-up round trip: FRA requests with node-FRA's rights, DEU's desk receives and answers as node-DEU, FRA reads the reply", async () => {
    const check = await client.check({ person: { names: ["Jean Dupont"], dob: "1980-05-01" } });
    const reference = check.results.find((each) => each.country === "DEU")?.hits[0]?.reference ?? "";
    expect(reference).toMatch(/^DEU-R-/);

    let handled: ((outcome: { requestId: string; stored: boolean; code?: string }) => void) | undefined;
    const desk = await FollowupDesk.start({
      connection: deu,
      country: "DEU",
      dataDir: path.join(scratch.path, "DEU-desk"),
      registry: () => trust.registry,
      logger: silentLogger(),
      onHandled: (outcome) => handled?.(outcome),
    });
    if (!desk) throw new Error("the follow-up desk found no JetStream");
    try {
      const received = new Promise<{ requestId: string; stored: boolean; code?: string }>((resolve) => (handled = resolve));
      const request = await requestFollowup({ connection: fra, identity: trust.border, reference, queryId: check.queryId, justification: "case 2026/4711" });
      expect(await received).toEqual({ requestId: request.requestId, stored: true });

      const identity = trust.nodes.get("DEU");
      if (!identity) throw new Error("no DEU identity");
      await decideFollowup({ requestId: request.requestId, decision: "approve", followups: desk.store, records: deuNode.store, identity, registry: trust.registry, connection: deu });

      // FRA's ordered consumer on watchmesh.v1.followup.reply.FRA (STREAM.INFO, CONSUMER.CREATE, MSG.NEXT).
      const replies = await collectFollowupReplies({ connection: fra, identity: trust.border, registry: trust.registry });
      expect(replies).toHaveLength(1);
      expect(replies[0]?.reply).toMatchObject({ requestId: request.requestId, reference, ownerCountry: "DEU", decision: FollowupDecision.Approved });
      expect(replies[0]?.details).toMatchObject({ id: "DEU-P-9" });
    } finally {
      await desk.stop();
    }

    // The request and the reply travelled through the owners' own inboxes: nobody else may read them.
    expect(await subscriptionRefused(esp, "_INBOX_node-FRA.>")).toBe(true);
    expect(await subscriptionRefused(esp, "_INBOX_node-DEU.>")).toBe(true);
  });
});
