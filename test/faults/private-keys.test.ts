/**
 * Private keys on disk and in logs. The command line writes every private key file with mode 0600; a
 * node refuses a key file others can read; and a running mesh of real processes (two `node serve`, one
 * `coordinator serve`, `watchmesh check` as the border system), logging at level trace, never writes any
 * form of any secret key (base64 as in the key file, the 32-byte seed, hex, base64url) to its output.
 */
import { chmod, copyFile, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signQuery } from "../../common/envelope.ts";
import { createLogger } from "../../common/logger.ts";
import { startNatsServer, type RunningNatsServer } from "../../common/nats-server.ts";
import { startTestMesh } from "../helpers/mesh.ts";
import { makeQuery } from "../helpers/queries.ts";
import { waitFor } from "../helpers/wait.ts";
import { runCli, spawnCli, type CliProcess } from "../helpers/cli.ts";
import { reportFigure } from "../helpers/report.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

const COUNTRIES = ["DEU", "ESP"];
/** Service logs at the most verbose level; no trace exporter (nothing listens for one). */
const SERVICE_ENV = { WATCHMESH_LOG_LEVEL: "trace", OTEL_SDK_DISABLED: "true" };

let temp: { path: string; remove: () => Promise<void> } | undefined;
let nats: RunningNatsServer | undefined;
const children: CliProcess[] = [];
let meshDir = "";

beforeAll(async () => {
  temp = await makeTempDir("watchmesh-keys-");
  meshDir = path.join(temp.path, "mesh");
});

afterAll(async () => {
  for (const child of children) await child.stop();
  await nats?.stop();
  await temp?.remove();
}, 30_000);

/** Every way a secret key might be written out: as stored, its seed half, hex, URL-safe base64. */
function secretForms(secretKeyBase64: string): string[] {
  const secret = Buffer.from(secretKeyBase64, "base64");
  const seed = secret.subarray(0, 32);
  return [secret, seed].flatMap((bytes) => [
    bytes.toString("base64"),
    bytes.toString("base64").replace(/=+$/, ""),
    bytes.toString("base64url"),
    bytes.toString("hex"),
    // A 24-character middle piece of the base64: catches a truncated or re-wrapped key too.
    bytes.toString("base64").slice(8, 32),
  ]);
}

async function keyFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith(".key")).map((entry) => path.join(entry.parentPath, entry.name));
}

describe("private keys", () => {
  it("are written 0600 by `mesh init` and `keys create`, and a node refuses a key file others can read", async () => {
    const init = await runCli(["mesh", "init", "--dir", meshDir, "--countries", COUNTRIES.join(",")]);
    expect(init.code, init.stderr).toBe(0);
    const created = await runCli(["keys", "create", "--role", "border", "--country", "DEU", "--agency", "border-police", "--out", path.join(meshDir, "extra-border.key")]);
    expect(created.code, created.stderr).toBe(0);
    const files = await keyFiles(meshDir);
    // root, two nodes, the border system, the coordinator, the analyst, and the extra key.
    expect(files.length).toBe(7);
    for (const file of files) expect(((await stat(file)).mode & 0o777).toString(8), file).toBe("600");
    // Neither command printed the secret it created.
    for (const file of files) {
      const text = await readFile(file, "utf8");
      const { secretKey } = JSON.parse(text) as { secretKey: string };
      // The search works: the stored form is found where it is (the key file itself).
      expect(text).toContain(secretForms(secretKey)[0]);
      for (const form of secretForms(secretKey)) expect(init.stdout + init.stderr + created.stdout + created.stderr).not.toContain(form);
    }

    const loose = path.join(temp?.path ?? "", "loose-node.key");
    await copyFile(path.join(meshDir, "keys", "DEU-node.key"), loose);
    await chmod(loose, 0o644);
    const refused = await runCli(
      ["node", "serve", "--data", path.join(temp?.path ?? "", "loose-data"), "--key", loose, "--registry", path.join(meshDir, "registry.json"), "--root-key", path.join(meshDir, "root.pub.json")],
      { env: SERVICE_ENV, timeoutMs: 30_000 },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/readable by others.*\[KEY_FILE_INVALID\]/);
    const { secretKey } = JSON.parse(await readFile(loose, "utf8")) as { secretKey: string };
    for (const form of secretForms(secretKey)) expect(refused.stdout + refused.stderr).not.toContain(form);
  }, 60_000);

  it("never appear in the logs of a running mesh, at log level trace", async () => {
    const files = await keyFiles(meshDir);
    expect(files.length, "the previous test created the mesh").toBe(7);
    nats = await startNatsServer();
    const registry = path.join(meshDir, "registry.json");
    const rootKey = path.join(meshDir, "root.pub.json");
    const records = path.join(temp?.path ?? "", "deu.ndjson");
    await writeFile(
      records,
      JSON.stringify({ kind: "person", id: "DEU-K-1", names: ["Kasimir Schluesselbund"], dob: "1966-06-16", documents: [{ type: "passport", number: "C7KX31PL9", country: "DEU" }] }) + "\n",
    );
    const imported = await runCli(["node", "import", "--data", path.join(meshDir, "nodes", "DEU"), "--file", records, "--json"]);
    expect(imported.code, imported.stderr).toBe(0);

    const services = [
      ...COUNTRIES.map((country) =>
        spawnCli(
          ["node", "serve", "--data", path.join(meshDir, "nodes", country), "--key", path.join(meshDir, "keys", `${country}-node.key`), "--registry", registry, "--root-key", rootKey, "--nats", nats?.url ?? ""],
          { env: SERVICE_ENV },
        ),
      ),
      spawnCli(["coordinator", "serve", "--registry", registry, "--root-key", rootKey, "--key", path.join(meshDir, "keys", "coordinator.key"), "--grpc", "127.0.0.1:0", "--nats", nats.url], {
        env: SERVICE_ENV,
      }),
    ];
    children.push(...services);
    const [deu, esp, coordinator] = services;
    if (!deu || !esp || !coordinator) throw new Error("services missing");
    await Promise.all([deu.waitForOutput(/node DEU serving/), esp.waitForOutput(/node ESP serving/), coordinator.waitForOutput(/coordinator serving gRPC on port \d+/)]);
    const port = /coordinator serving gRPC on port (\d+)/.exec(coordinator.output())?.[1];

    const check = (extra: string[]) =>
      runCli(["check", "--coordinator", `127.0.0.1:${port}`, "--key", path.join(meshDir, "keys", "FRA-border.key"), "--registry", registry, "--root-key", rootKey, "--json", ...extra], { env: SERVICE_ENV });
    const hit = await check(["--name", "Kasimir Schluesselbund", "--dob", "1966-06-16", "--doc-number", "C7KX31PL9", "--doc-country", "DEU"]);
    expect(hit.code, hit.stderr).toBe(0);
    expect((JSON.parse(hit.stdout) as { results: { country: string; status: string }[] }).results.map((r) => `${r.country}:${r.status}`)).toEqual(["DEU:hit", "ESP:no_hit"]);
    const noHit = await check(["--name", "Niemand Unbekannt", "--dob", "1990-01-01"]);
    expect(noHit.code, noHit.stderr).toBe(0);
    // A query the coordinator rejects (with the wrong kind of key: a node key cannot sign border checks).
    const rejected = await runCli(["check", "--coordinator", `127.0.0.1:${port}`, "--key", path.join(meshDir, "keys", "DEU-node.key"), "--registry", registry, "--root-key", rootKey, "--name", "X Y"], { env: SERVICE_ENV });
    expect(rejected.code).toBe(1);

    // Graceful stop, so shutdown logs are included.
    for (const service of services) expect((await service.kill("SIGTERM")).code).toBe(0);
    const logs = [...services.map((service) => service.output()), hit.stdout, hit.stderr, noHit.stdout, noHit.stderr, rejected.stdout, rejected.stderr, imported.stdout, imported.stderr].join("\n");
    const jsonLines = logs.split("\n").filter((line) => line.startsWith("{") && line.includes('"level"'));
    // The capture is real: trace-level JSON logs of every service, about the traffic above.
    for (const message of ["country node started", "query answered", "coordinator started", "check completed", "country node stopped"]) {
      expect(jsonLines.some((line) => line.includes(`"msg":"${message}"`)), message).toBe(true);
    }
    let secretsChecked = 0;
    for (const file of files) {
      const { secretKey } = JSON.parse(await readFile(file, "utf8")) as { secretKey: string };
      for (const form of secretForms(secretKey)) {
        secretsChecked += 1;
        expect(logs.includes(form), `${path.basename(file)} appears in the logs`).toBe(false);
      }
    }
    reportFigure(`private keys: ${files.length} key files 0600; ${jsonLines.length} log lines of ${services.length} services searched for ${secretsChecked} secret forms: none found`);
  }, 90_000);

  it("never appear in the logs of an in-process mesh with hit notifications, refusals and rejections, at level trace", async () => {
    const lines: string[] = [];
    const handled = new Set<string>();
    const mesh = await startTestMesh({
      countries: ["DEU", "ESP"],
      jetstream: true,
      records: { DEU: [{ kind: "person", id: "DEU-K-2", names: ["Kunigunde Geheimschluessel"], dob: "1959-09-19", documents: [{ type: "passport", number: "C4KQ8ZT31", country: "DEU" }] }] },
      logger: createLogger({ component: "key-test", level: "trace", destination: { write: (line: string) => void lines.push(line) } }),
      nodeOptions: () => ({ onNotificationHandled: (outcome) => void handled.add(outcome.notificationId) }),
    });
    let stopped = false;
    try {
      const hit = await mesh.client.check({ person: { names: ["Kunigunde Geheimschluessel"], dob: "1959-09-19", documents: [{ type: "passport", number: "C4KQ8ZT31", country: "DEU" }] } });
      expect(hit.results.map((result) => `${result.country}:${result.status}`)).toEqual(["DEU:hit", "ESP:no_hit"]);
      await mesh.client.check({ person: { names: ["Niemand Sonst"], dob: "1990-01-01" } });
      await mesh.client.check({ person: { mrz: ["P<DEUBROKEN<<MRZ", "C4KQ8ZT310DEU5909190M3001011<<<<<<<<<<<<<<02"] } });
      // Rejected by the coordinator: expired, and signed by a node key instead of a border key.
      const now = Date.now();
      const rejections = [
        signQuery(makeQuery({ issuedAtMs: now - 200_000, expiresAtMs: now - 100_000 }), mesh.trust.border),
        signQuery(makeQuery(), mesh.trust.nodes.get("DEU") ?? mesh.trust.border),
      ];
      for (const envelope of rejections) await expect(mesh.coordinator.check(envelope)).rejects.toMatchObject({ code: expect.any(String) });
      await waitFor(() => handled.has(`${hit.queryId}:DEU`), { timeoutMs: 15_000, what: "the hit notification to reach DEU" });
      await mesh.stop();
      stopped = true;
      const messages = new Set(lines.map((line) => (JSON.parse(line) as { msg?: string }).msg));
      for (const message of ["query answered", "query refused", "check completed", "check rejected", "country node stopped"]) expect(messages, message).toContain(message);
      const identities = [mesh.trust.root, mesh.trust.border, ...mesh.trust.nodes.values()];
      const text = lines.join("\n");
      for (const identity of identities) {
        for (const form of secretForms(Buffer.from(identity.secretKey).toString("base64"))) expect(text.includes(form), `${identity.keyId}'s secret key in the logs`).toBe(false);
      }
      reportFigure(`private keys: ${lines.length} in-process log lines searched for ${identities.length * 10} secret forms: none found`);
    } finally {
      if (!stopped) await mesh.stop();
    }
  }, 60_000);
});
