import cliProgress from "cli-progress";
import type { BatchCheckResult, BatchProgress, BorderClient, CheckCallOptions } from "../../border-client.ts";
import { batchJsonLines, renderBatch } from "../batch-render.ts";
import type { Manifest } from "../manifest.ts";

export interface BatchOutput {
  json: boolean;
  /** Show a progress bar on stderr (only when stderr is a terminal). */
  progress: boolean;
}

/** Where the bar stands: signing fills its first half, verifying its second; the wait is a label. */
function barPosition(progress: BatchProgress): { value: number; phase: string } {
  switch (progress.phase) {
    case "signing":
      return { value: progress.done, phase: `signing ${progress.done}/${progress.total}` };
    case "sending":
      return { value: progress.total, phase: "sent; waiting for the countries' answers" };
    case "verifying":
      return { value: progress.total + progress.done, phase: `verifying ${progress.done}/${progress.total}` };
  }
}

/**
 * `watchmesh check --batch`: screens a manifest's travellers in one call, with a progress bar on
 * stderr, then prints per traveller (manifest line) the hits and refusals, or one JSON object per line
 * (batch-render.ts documents the shape). Exit code 3 when manifest lines were rejected, as import does.
 */
export async function runBatchCheck(client: BorderClient | undefined, manifest: Manifest, options: CheckCallOptions, output: BatchOutput): Promise<void> {
  let result: BatchCheckResult | undefined;
  if (client && manifest.travellers.length > 0) {
    const total = manifest.travellers.length;
    const bar =
      output.progress && process.stderr.isTTY
        ? new cliProgress.SingleBar({ format: "batch [{bar}] {percentage}% | {phase}" }, cliProgress.Presets.shades_classic)
        : undefined;
    bar?.start(2 * total, 0, { phase: "signing" });
    try {
      result = await client.checkBatch(
        manifest.travellers.map((traveller) => traveller.subject),
        {
          ...options,
          onProgress: (progress) => {
            const { value, phase } = barPosition(progress);
            bar?.update(value, { phase });
          },
        },
      );
    } finally {
      bar?.stop();
    }
  }
  process.stdout.write(output.json ? batchJsonLines(manifest, result).map((line) => line + "\n").join("") : renderBatch(manifest, result) + "\n");
  if (manifest.rejected.length > 0) process.exitCode = 3;
}
