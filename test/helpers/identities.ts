import { createIdentity, MemberRole, publicPart, type SigningIdentity } from "../../common/key-files.ts";
import { memberFor, signRegistry, TrustRegistry, type RegistryMember } from "../../common/registry.ts";
import { initSodium } from "../../common/sodium.ts";

export interface TestTrust {
  root: SigningIdentity;
  nodes: Map<string, SigningIdentity>;
  border: SigningIdentity;
  registry: TrustRegistry;
  registryText: string;
}

/** Keys for node countries and one border system, and a root-signed registry listing them. */
export async function makeTrust(countries: string[], borderCountry = "FRA", extra: RegistryMember[] = []): Promise<TestTrust> {
  await initSodium();
  const root = createIdentity(MemberRole.Root, "", "root");
  const nodes = new Map(countries.map((country) => [country, createIdentity(MemberRole.Node, country, "node-agency")]));
  const border = createIdentity(MemberRole.Border, borderCountry, "border-police");
  const members = [...[...nodes.values()].map((node) => memberFor(publicPart(node))), memberFor(publicPart(border)), ...extra];
  const registryText = signRegistry({ format: "watchmesh-registry/v1", version: 1, issuedAt: new Date().toISOString(), members }, root);
  return { root, nodes, border, registry: TrustRegistry.fromSignedText(registryText, publicPart(root)), registryText };
}
