// The deployment files in deploy/ are not code, but they break like code: a NATS config that no
// longer parses, a variable nobody sets, a manifest that is not YAML, a service that gets its NATS
// password from an environment value. These tests run the real `nats-server -t` on every complete
// NATS config (and on the hub config embedded in the Kubernetes manifests), and parse compose.yaml
// and k8s/*.yaml. Nothing is started; each nats-server call is bounded by a timeout.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { REPO_ROOT } from "../helpers/cli.ts";
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

/** Every `$VARIABLE` a config references, its includes' too. */
function variablesOf(file: string): string[] {
  const found = new Set<string>();
  for (const each of [file, ...includesOf(file)]) {
    const text = withoutComments(readFileSync(each, "utf8"));
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
