import { readFile } from "node:fs/promises";
import { ErrorCode, WatchmeshError } from "../../common/errors.ts";
import { MAX_BATCH_QUERIES, MAX_ENVELOPE_BYTES } from "../../common/limits.ts";
import { parseQueryText } from "../../common/query-json.ts";
import type { CheckSubject } from "../border-client.ts";

/** One traveller of a manifest, by its 1-based line number. */
export interface ManifestTraveller {
  line: number;
  subject: CheckSubject;
}

/** A manifest line that is not a valid query: reported, never sent. */
export interface RejectedLine {
  line: number;
  code: string;
  message: string;
}

export interface Manifest {
  travellers: ManifestTraveller[];
  rejected: RejectedLine[];
}

/**
 * Reads a passenger manifest for `watchmesh check --batch`: NDJSON, one query per line in the JSON
 * query format (common/query-json.ts, as `--query` takes). Blank lines are skipped; a bad line is
 * rejected with its number and the field at fault, and the others are still screened. More valid
 * lines than one batch holds is an error: the manifest has to be split.
 */
export async function readManifest(file: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new WatchmeshError(ErrorCode.NotFound, `cannot read manifest ${file}`, { cause: error });
  }
  const manifest: Manifest = { travellers: [], rejected: [] };
  text.split(/\r?\n/).forEach((content, index) => {
    const line = index + 1;
    if (content.trim() === "") return;
    if (Buffer.byteLength(content, "utf8") > MAX_ENVELOPE_BYTES) {
      manifest.rejected.push({ line, code: ErrorCode.PayloadTooLarge, message: `line exceeds ${MAX_ENVELOPE_BYTES} bytes` });
      return;
    }
    try {
      manifest.travellers.push({ line, subject: parseQueryText(content) });
    } catch (error) {
      const failure = WatchmeshError.from(error, ErrorCode.InvalidArgument);
      manifest.rejected.push({ line, code: failure.code, message: failure.message });
    }
  });
  if (manifest.travellers.length > MAX_BATCH_QUERIES) {
    throw new WatchmeshError(
      ErrorCode.PayloadTooLarge,
      `manifest ${file} has ${manifest.travellers.length} queries; a batch holds at most ${MAX_BATCH_QUERIES}: split the manifest`,
    );
  }
  if (manifest.travellers.length === 0 && manifest.rejected.length === 0) {
    throw new WatchmeshError(ErrorCode.InvalidArgument, `manifest ${file} holds no query`);
  }
  return manifest;
}
