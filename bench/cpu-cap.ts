/**
 * Caps the CPU time of a benchmark process with a Linux control group (cgroup v2 `cpu.max`, or v1
 * `cpu.cfs_quota_us`), so that processes compared with each other get the same budget however many
 * cores the machine has: two coordinators capped at a fifth of a core each against one, on a machine
 * whose other processes fill the rest. Needs a writable cgroup hierarchy (root, or a delegated one);
 * without it, `capCpu` resolves to undefined and the caller reports the figure as unavailable.
 */
import { access, mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";

const CGROUP_ROOT = "/sys/fs/cgroup";
/**
 * The scheduler period the quota is a share of: a tenth of the kernel's default, so that a capped
 * process runs and waits in slices of milliseconds rather than being held for most of 100 ms.
 */
const PERIOD_US = 10_000;

export interface CpuCap {
  /** Moves the process (if still alive) back to the root group and removes the group. */
  release(): Promise<void>;
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** The directory of the cgroup hierarchy that has the cpu controller, and how to set a quota there. */
async function cpuHierarchy(): Promise<{ dir: string; setQuota: (group: string, quotaUs: number) => Promise<void> } | undefined> {
  if (await exists(path.join(CGROUP_ROOT, "cgroup.controllers"))) {
    const controllers = await readFile(path.join(CGROUP_ROOT, "cgroup.controllers"), "utf8");
    if (!controllers.split(/\s+/).includes("cpu")) return undefined;
    // The root group must hand the cpu controller to its children (allowed at the root in cgroup v2).
    await writeFile(path.join(CGROUP_ROOT, "cgroup.subtree_control"), "+cpu");
    return { dir: CGROUP_ROOT, setQuota: (group, quotaUs) => writeFile(path.join(group, "cpu.max"), `${quotaUs} ${PERIOD_US}`) };
  }
  const v1 = path.join(CGROUP_ROOT, "cpu");
  if (!(await exists(path.join(v1, "cpu.cfs_quota_us")))) return undefined;
  return {
    dir: v1,
    setQuota: async (group, quotaUs) => {
      await writeFile(path.join(group, "cpu.cfs_period_us"), String(PERIOD_US));
      await writeFile(path.join(group, "cpu.cfs_quota_us"), String(quotaUs));
    },
  };
}

/** Limits process `pid` (all its threads) to `cores` cores' worth of CPU time; undefined when cgroups are not writable here. */
export async function capCpu(pid: number, cores: number): Promise<CpuCap | undefined> {
  let hierarchy: Awaited<ReturnType<typeof cpuHierarchy>>;
  try {
    hierarchy = await cpuHierarchy();
  } catch {
    return undefined;
  }
  if (!hierarchy) return undefined;
  const { dir } = hierarchy;
  const group = path.join(dir, `watchmesh-bench-${pid}`);
  try {
    await mkdir(group);
    await hierarchy.setQuota(group, Math.max(1000, Math.round(cores * PERIOD_US)));
    await writeFile(path.join(group, "cgroup.procs"), String(pid));
  } catch {
    await rmdir(group).catch(() => undefined);
    return undefined;
  }
  return {
    release: async () => {
      // A process that has exited has already left; one still running goes back to the root group.
      await writeFile(path.join(dir, "cgroup.procs"), String(pid)).catch(() => undefined);
      await rmdir(group).catch(() => undefined);
    },
  };
}
