import sodiumModule from "libsodium-wrappers";

export type Sodium = typeof sodiumModule;

let ready: Promise<Sodium> | undefined;
let instance: Sodium | undefined;

/** Initialises libsodium once; every component awaits this before signing or verifying. */
export function initSodium(): Promise<Sodium> {
  ready ??= sodiumModule.ready.then(() => {
    instance = sodiumModule;
    return sodiumModule;
  });
  return ready;
}

/** The initialised library; throws if `initSodium()` was not awaited (a programming error). */
export function sodium(): Sodium {
  if (!instance) throw new Error("libsodium used before initSodium() resolved");
  return instance;
}
