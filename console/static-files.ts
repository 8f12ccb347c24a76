import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCode, WatchmeshError } from "../common/errors.ts";

/** The console's pages, styles and scripts (plain files, no build step). */
export const STATIC_DIR = fileURLToPath(new URL("./static/", import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

/**
 * The files the console serves, read once at start into memory: every file of the static folder with a
 * known type, by its name (`/officer.html`), plus named extra files (libraries the pages use, served
 * from node_modules under `/vendor/`). Nothing else on disk can be reached: there is no path mapping.
 */
export class StaticFiles {
  readonly #files: Map<string, StaticFile>;

  private constructor(files: Map<string, StaticFile>) {
    this.#files = files;
  }

  static async load(options: { dir?: string; extra?: Readonly<Record<string, string>> } = {}): Promise<StaticFiles> {
    const dir = options.dir ?? STATIC_DIR;
    const files = new Map<string, StaticFile>();
    const add = async (urlPath: string, file: string): Promise<void> => {
      const contentType = CONTENT_TYPES[path.extname(file)];
      if (!contentType) return;
      try {
        files.set(urlPath, { body: await readFile(file), contentType });
      } catch (error) {
        throw new WatchmeshError(ErrorCode.ConfigInvalid, `cannot read console file ${file}`, { cause: error });
      }
    };
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.isFile()) await add(`/${entry.name}`, path.join(dir, entry.name));
    }
    for (const [urlPath, file] of Object.entries(options.extra ?? {})) await add(urlPath, file);
    return new StaticFiles(files);
  }

  get(urlPath: string): StaticFile | undefined {
    return this.#files.get(urlPath);
  }

  has(urlPath: string): boolean {
    return this.#files.has(urlPath);
  }
}
