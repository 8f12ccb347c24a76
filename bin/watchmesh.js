#!/usr/bin/env node
// The `watchmesh` command: loads the TypeScript CLI through tsx's loader (no build step needed).
import { register } from "tsx/esm/api";

register();
await import("../client/cli/main.ts");
