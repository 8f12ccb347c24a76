import { mkdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import {
  createIdentity,
  MemberRole,
  publicPart,
  readPrivateKeyFile,
  readPublicKeyFile,
  writePrivateKeyFile,
  writePublicKeyFile,
  type SigningIdentity,
} from "../../common/key-files.ts";
import { memberFor, signRegistry, TrustRegistry, type RegistryMember } from "../../common/registry.ts";
import { initSodium } from "../../common/sodium.ts";

/**
 * Files of a local mesh directory (`watchmesh mesh init`, `up`, `demo`):
 *   root.key / root.pub.json   registry root key pair (the root.key stays with the registry operator)
 *   registry.json              the signed trust registry
 *   keys/<CCC>-node.key        each country node's key (0600)
 *   keys/<CCC>-border.key      the border system's key (0600)
 *   keys/coordinator.key       the coordinator's key (0600): nodes tag their answers for it
 *   keys/<CCC>-analyst.key     the analyst's key (0600): signs aggregate queries (`watchmesh report`)
 *   nodes/<CCC>/               each node's LMDB store
 *   samples/<CCC>.ndjson       generated sample records
 *   mesh.json                  addresses of a running mesh (written by `up`)
 */
export class MeshLayout {
  constructor(readonly dir: string) {}

  get rootKeyFile(): string {
    return path.join(this.dir, "root.key");
  }
  get rootPublicKeyFile(): string {
    return path.join(this.dir, "root.pub.json");
  }
  get registryFile(): string {
    return path.join(this.dir, "registry.json");
  }
  get stateFile(): string {
    return path.join(this.dir, "mesh.json");
  }
  nodeKeyFile(country: string): string {
    return path.join(this.dir, "keys", `${country}-node.key`);
  }
  get coordinatorKeyFile(): string {
    return path.join(this.dir, "keys", "coordinator.key");
  }
  borderKeyFile(country: string): string {
    return path.join(this.dir, "keys", `${country}-border.key`);
  }
  analystKeyFile(country: string): string {
    return path.join(this.dir, "keys", `${country}-analyst.key`);
  }
  nodeDataDir(country: string): string {
    return path.join(this.dir, "nodes", country);
  }
  sampleFile(country: string): string {
    return path.join(this.dir, "samples", `${country}.ndjson`);
  }

  exists(): boolean {
    return existsSync(this.registryFile);
  }

  async loadRegistry(): Promise<TrustRegistry> {
    await initSodium();
    return TrustRegistry.load(this.registryFile, await readPublicKeyFile(this.rootPublicKeyFile));
  }

  async readState(): Promise<MeshState> {
    let text: string;
    try {
      text = await readFile(this.stateFile, "utf8");
    } catch {
      throw new WatchmeshError(ErrorCode.NotFound, `no running mesh recorded in ${this.dir} (start one with "watchmesh up")`);
    }
    return JSON.parse(text) as MeshState;
  }

  async writeState(state: MeshState): Promise<void> {
    await writeFile(this.stateFile, JSON.stringify(state, null, 2) + "\n");
  }
}

export interface MeshState {
  natsUrl: string;
  coordinator: string;
  nodes: { country: string; grpc: string }[];
  borderCountry: string;
}

export interface InitMeshOptions {
  dir: string;
  countries: string[];
  /** Country whose border system the local border client acts for. */
  borderCountry: string;
  borderAgency?: string;
}

/** Creates root, node and border keys and a signed registry for a local mesh. */
export async function initMesh(options: InitMeshOptions): Promise<MeshLayout> {
  await initSodium();
  const layout = new MeshLayout(options.dir);
  if (layout.exists()) {
    throw new WatchmeshError(ErrorCode.ConfigInvalid, `${options.dir} already holds a mesh; choose another directory`);
  }
  await mkdir(path.join(options.dir, "keys"), { recursive: true, mode: 0o700 });
  const root = createIdentity(MemberRole.Root, "", "registry-root");
  await writePrivateKeyFile(layout.rootKeyFile, root);
  await writePublicKeyFile(layout.rootPublicKeyFile, publicPart(root));

  const members: RegistryMember[] = [];
  for (const country of options.countries) {
    const node = createIdentity(MemberRole.Node, country, "national-node");
    await writePrivateKeyFile(layout.nodeKeyFile(country), node);
    members.push(memberFor(publicPart(node), `${country} country node`));
  }
  const border: SigningIdentity = createIdentity(MemberRole.Border, options.borderCountry, options.borderAgency ?? "border-police");
  await writePrivateKeyFile(layout.borderKeyFile(options.borderCountry), border);
  members.push(memberFor(publicPart(border), `${options.borderCountry} border system`));
  // The coordinator is run by the border system's country here; in production by whoever operates it.
  const coordinator = createIdentity(MemberRole.Coordinator, options.borderCountry, "coordinator");
  await writePrivateKeyFile(layout.coordinatorKeyFile, coordinator);
  members.push(memberFor(publicPart(coordinator), "mesh coordinator"));
  const analyst = createIdentity(MemberRole.Analyst, options.borderCountry, "analysis-unit");
  await writePrivateKeyFile(layout.analystKeyFile(options.borderCountry), analyst);
  members.push(memberFor(publicPart(analyst), `${options.borderCountry} analysis unit`));

  const registryText = signRegistry(
    { format: "watchmesh-registry/v1", version: 1, issuedAt: new Date().toISOString(), members },
    root,
  );
  await writeFile(layout.registryFile, registryText);
  return layout;
}

export async function loadIdentity(file: string): Promise<SigningIdentity> {
  await initSodium();
  return readPrivateKeyFile(file);
}
