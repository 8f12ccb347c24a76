/**
 * Gives one benchmark process a core of its own (CPU affinity with util-linux `taskset`, every thread),
 * and moves the other processes of the topology to the remaining cores. On a machine where all of
 * them share two cores, a process measured at saturation otherwise runs in turns with the others on
 * the same core, and pays for their cache misses in its own CPU time. In production the coordinator
 * has a machine of its own: this is the closer measurement.
 */
import { execFile } from "node:child_process";
import { availableParallelism } from "node:os";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface CpuPinning {
  /** Lets every pinned process run on every core again. */
  release(): Promise<void>;
}

async function setAffinity(pid: number, cpus: string): Promise<void> {
  await run("taskset", ["--all-tasks", "--pid", "--cpu-list", cpus, String(pid)]);
}

/**
 * Pins `alone` to the last core and `others` to the cores before it. Resolves to undefined when the
 * machine has a single core or taskset is missing or not allowed; processes already pinned are then
 * released again.
 */
export async function pinAlone(alone: number, others: readonly number[]): Promise<CpuPinning | undefined> {
  const cores = availableParallelism();
  if (cores < 2) return undefined;
  const every = `0-${cores - 1}`;
  const pinned: number[] = [];
  const release = async () => {
    await Promise.all(pinned.map((pid) => setAffinity(pid, every).catch(() => undefined)));
  };
  try {
    for (const pid of others) {
      await setAffinity(pid, cores === 2 ? "0" : `0-${cores - 2}`);
      pinned.push(pid);
    }
    await setAffinity(alone, String(cores - 1));
    pinned.push(alone);
  } catch {
    await release();
    return undefined;
  }
  return { release };
}
