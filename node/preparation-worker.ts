/** The worker thread of `workerPreparer` (line-preparer.ts): prepares each batch it is sent, in order. */
import { parentPort, workerData } from "node:worker_threads";
import { packResults, prepareText, type PreparationReply, type PreparationRequest, type PreparationWorkerData } from "./line-preparer.ts";
import type { PreparationContext } from "./record-preparation.ts";

const data = workerData as PreparationWorkerData;
const context: PreparationContext = {
  referenceSecret: Buffer.from(data.referenceSecretHex, "hex"),
  ...(data.defaultRegion === undefined ? {} : { defaultRegion: data.defaultRegion }),
};

parentPort?.on("message", ({ id, texts }: PreparationRequest) => {
  let reply: PreparationReply;
  try {
    reply = { id, results: packResults(texts.map((text) => prepareText(text, context))) };
  } catch (error) {
    // Not a record error (those reject their line): a defect, reported without the line's content.
    reply = { id, failure: error instanceof Error ? error.name : "unknown error" };
  }
  parentPort?.postMessage(reply, "results" in reply ? [reply.results.layout.buffer as ArrayBuffer] : []);
});
