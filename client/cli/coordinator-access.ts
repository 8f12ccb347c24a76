import { readPublicKeyFile, type SigningIdentity } from "../../common/key-files.ts";
import { TrustRegistry } from "../../common/registry.ts";
import { initSodium } from "../../common/sodium.ts";
import { loadIdentity, MeshLayout, type MeshState } from "./mesh-layout.ts";

/** Flags every command that talks to a coordinator takes; each defaults to the local mesh's. */
export interface CoordinatorAccessFlags {
  mesh: string;
  coordinator?: string;
  key?: string;
  registry?: string;
  rootKey?: string;
}

export interface CoordinatorAccess {
  coordinatorAddress: string;
  identity: SigningIdentity;
  registry: TrustRegistry;
}

/**
 * The coordinator address, signing key and verified trust registry from the flags, falling back to the
 * local mesh directory (`watchmesh up`/`demo --keep`) for what is not given; `defaultKeyFile` names the
 * mesh's key for the command's role.
 */
export async function resolveCoordinatorAccess(
  flags: CoordinatorAccessFlags,
  defaultKeyFile: (layout: MeshLayout, state: MeshState | undefined) => string,
): Promise<CoordinatorAccess> {
  await initSodium();
  const layout = new MeshLayout(flags.mesh);
  const needsState = !flags.coordinator || !flags.key;
  const state = needsState ? await layout.readState() : undefined;
  const registry = flags.registry
    ? await TrustRegistry.load(flags.registry, await readPublicKeyFile(flags.rootKey ?? layout.rootPublicKeyFile))
    : await layout.loadRegistry();
  const identity = await loadIdentity(flags.key ?? defaultKeyFile(layout, state));
  return { coordinatorAddress: flags.coordinator ?? state?.coordinator ?? "", identity, registry };
}
