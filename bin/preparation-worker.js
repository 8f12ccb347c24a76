// Entry point of the import's preparation worker thread (node/line-preparer.ts): a worker thread does
// not inherit its parent's TypeScript loader, so register tsx here, then load the worker module.
import { register } from "tsx/esm/api";

register();
await import("../node/preparation-worker.ts");
