import { createIdentity, MemberRole, publicPart, type SigningIdentity } from "../../common/key-files.ts";
import { memberFor, signRegistry, TrustRegistry, type RegistryMember } from "../../common/registry.ts";
import { PairKeyring } from "../../common/pair-tags.ts";
import { initSodium } from "../../common/sodium.ts";

export interface TestTrust {
  root: SigningIdentity;
  nodes: Map<string, SigningIdentity>;
  border: SigningIdentity;
  /** A registered coordinator key: nodes tag their answers for it instead of signing them. */
  coordinator: SigningIdentity;
  /** An analysis unit's key (role "analyst"): signs aggregate queries. */
  analyst: SigningIdentity;
  /** The border system's pair keys, to check answers tagged for it. */
  borderKeyring: PairKeyring;
  registry: TrustRegistry;
  registryText: string;
}

/** Keys for node countries, one border system, one coordinator and one analyst, and a root-signed registry listing them. */
export async function makeTrust(countries: string[], borderCountry = "FRA", extra: RegistryMember[] = []): Promise<TestTrust> {
  await initSodium();
  const root = createIdentity(MemberRole.Root, "", "root");
  const nodes = new Map(countries.map((country) => [country, createIdentity(MemberRole.Node, country, "node-agency")]));
  const border = createIdentity(MemberRole.Border, borderCountry, "border-police");
  const coordinator = createIdentity(MemberRole.Coordinator, borderCountry, "coordinator");
  const analyst = createIdentity(MemberRole.Analyst, borderCountry, "analysis-unit");
  const members = [
    ...[...nodes.values()].map((node) => memberFor(publicPart(node))),
    memberFor(publicPart(border)),
    memberFor(publicPart(coordinator)),
    memberFor(publicPart(analyst)),
    ...extra,
  ];
  const registryText = signRegistry({ format: "watchmesh-registry/v1", version: 1, issuedAt: new Date().toISOString(), members }, root);
  return {
    root,
    nodes,
    border,
    coordinator,
    analyst,
    borderKeyring: new PairKeyring(border, { side: "asker" }),
    registry: TrustRegistry.fromSignedText(registryText, publicPart(root)),
    registryText,
  };
}
