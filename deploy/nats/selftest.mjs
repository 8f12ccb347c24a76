// Checks the NATS configs of this folder against running servers started by selftest.sh:
// every user's permissions, scatter/gather across routes and leaf links, JetStream R3.
// Uses the repository's own NATS client. Prints "N passed, N failed" and exits non-zero on failure.
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";

const base = Number(process.env.SELFTEST_BASE_PORT ?? 24000);
const HUB_A = base + 1, HUB_B = base + 2, HUB_C = base + 3;
const LEAF_FRA = base + 41, LEAF_DEU = base + 42;
// Placeholder passwords set by selftest.sh: hub users, and the local "node" user of each leaf.
const PW = {
  coordinator: "t-coord", "node-FRA": "t-node-fra", "node-DEU": "t-node-deu", ops: "t-ops",
};
const LOCAL_NODE_PW = { [LEAF_FRA]: "t-local-fra", [LEAF_DEU]: "t-local-deu" };
const passwordOf = (port, user) => (user === "node" ? LOCAL_NODE_PW[port] : PW[user]);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const encode = (text) => new TextEncoder().encode(text);
const decode = (bytes) => new TextDecoder().decode(bytes);
const results = [];
function check(name, ok, detail) {
  results.push(ok);
  console.log(`${ok ? "PASS" : "FAIL"} ${name}${!ok && detail ? ` (${JSON.stringify(detail)})` : ""}`);
}
function skip(name, why) {
  console.log(`SKIP ${name}: ${why}`);
}

const open = [];
async function conn(port, user) {
  const nc = await connect({
    servers: `127.0.0.1:${port}`,
    ...(user ? { user, pass: passwordOf(port, user) } : {}),
    timeout: 3000,
    maxReconnectAttempts: 0,
  });
  const errors = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === "error") errors.push(String(s.error?.message ?? s.error));
  })();
  open.push(nc);
  return { nc, errors };
}
async function refused(port, user, pass) {
  try {
    const nc = await connect({ servers: `127.0.0.1:${port}`, ...(user ? { user, pass } : {}), timeout: 3000, maxReconnectAttempts: 0 });
    await nc.close();
    return false;
  } catch {
    return true;
  }
}
/** True when the server refuses the subscription (permission violation). */
async function subDenied(port, user, subject, queue) {
  const { nc, errors } = await conn(port, user);
  let errored = false;
  const sub = nc.subscribe(subject, { ...(queue ? { queue } : {}), callback: (error) => { if (error) errored = true; } });
  await nc.flush();
  await sleep(150);
  const denied = errored || sub.isClosed() || errors.some((e) => /permission/i.test(e));
  await nc.close().catch(() => undefined);
  return denied;
}

// --- Authentication --------------------------------------------------------------------------
check("hub refuses anonymous clients", await refused(HUB_A));
check("hub refuses a wrong password", await refused(HUB_A, "coordinator", "wrong"));
check("hub refuses a leaf's local user", await refused(HUB_A, "node", LOCAL_NODE_PW[LEAF_FRA]));
check("country leaf refuses anonymous clients", await refused(LEAF_FRA));
check("country leaf refuses another country's local password", await refused(LEAF_FRA, "node", LOCAL_NODE_PW[LEAF_DEU]));
check("country leaf refuses hub users", await refused(LEAF_FRA, "node-FRA", PW["node-FRA"]));

// --- Per-user permissions on the hub ----------------------------------------------------------
const allowed = async (name, ...args) => check(name, !(await subDenied(...args)));
const denied = async (name, ...args) => check(name, await subDenied(...args));
await allowed("node-FRA: queue-subscribe match.all in watchmesh-node-FRA", HUB_B, "node-FRA", "watchmesh.v1.match.all", "watchmesh-node-FRA");
await allowed("node-FRA: queue-subscribe match.country.FRA in watchmesh-node-FRA", HUB_B, "node-FRA", "watchmesh.v1.match.country.FRA", "watchmesh-node-FRA");
await denied("node-FRA: plain subscription to match.all refused", HUB_B, "node-FRA", "watchmesh.v1.match.all");
await denied("node-FRA: another country's queue group refused", HUB_B, "node-FRA", "watchmesh.v1.match.all", "watchmesh-node-DEU");
await denied("node-FRA: match.country.DEU refused", HUB_B, "node-FRA", "watchmesh.v1.match.country.DEU", "watchmesh-node-FRA");
await allowed("node-FRA: notify.FRA", HUB_B, "node-FRA", "watchmesh.v1.notify.FRA");
await denied("node-FRA: notify.DEU refused", HUB_B, "node-FRA", "watchmesh.v1.notify.DEU");
await denied("node-FRA: coordinator inboxes refused", HUB_B, "node-FRA", "_INBOX.watchmesh.>");
await allowed("node-DEU: queue-subscribe match.country.DEU", HUB_B, "node-DEU", "watchmesh.v1.match.country.DEU", "watchmesh-node-DEU");
await allowed("coordinator: its inbox _INBOX.watchmesh.<id>.*", HUB_A, "coordinator", "_INBOX.watchmesh.x.*");
await denied("coordinator: match.all refused", HUB_A, "coordinator", "watchmesh.v1.match.all");
await allowed("FRA leaf, local node user: queue-subscribe match.all", LEAF_FRA, "node", "watchmesh.v1.match.all", "watchmesh-node-FRA");
await denied("FRA leaf, local node user: _INBOX.> refused", LEAF_FRA, "node", "_INBOX.>");

// --- Scatter/gather through the topology -------------------------------------------------------
//   coordinator on hub A or C -> hub routes -> node-FRA on hub B (queue group)
//                                          -> DEU leaf -> DEU node (local user "node")
// Leaf-side subscriptions are plain here: nats-server before the fix for nats-server#6281
// (PR #6291) drops a leaf's queue interest when the hub user names the subject literally; that
// case is checked separately below.
const coordOnA = await conn(HUB_A, "coordinator");
const coordDirect = await conn(HUB_C, "coordinator");
const nodeFra = await conn(HUB_B, "node-FRA");
const leafFra = await conn(LEAF_FRA, "node");
const leafDeu = await conn(LEAF_DEU, "node");
const seen = { fraDirect: 0, fraLeafCountry: 0, deuLeaf: 0, deuSawFra: 0 };
const answer = (name, key) => (error, msg) => {
  if (error) return;
  seen[key]++;
  if (msg.reply) msg.respond(encode(name));
};
for (const subject of ["watchmesh.v1.match.all", "watchmesh.v1.match.country.FRA"]) {
  nodeFra.nc.subscribe(subject, { queue: "watchmesh-node-FRA", callback: answer("FRA", "fraDirect") });
}
leafFra.nc.subscribe("watchmesh.v1.match.country.FRA", { callback: (error) => { if (!error) seen.fraLeafCountry++; } });
leafDeu.nc.subscribe("watchmesh.v1.match.all", { callback: answer("DEU", "deuLeaf") });
leafDeu.nc.subscribe("watchmesh.v1.match.country.FRA", { callback: (error) => { if (!error) seen.deuSawFra++; } });
await Promise.all([nodeFra.nc.flush(), leafFra.nc.flush(), leafDeu.nc.flush()]);
await sleep(1500); // interest crosses routes and leaf links

for (const [label, client] of [["coordinator on nats-a", coordOnA], ["coordinator on nats-c", coordDirect]]) {
  const id = label.replace(/\W/g, "");
  const answers = [];
  client.nc.subscribe(`_INBOX.watchmesh.${id}.*`, { callback: (error, msg) => { if (!error) answers.push(decode(msg.data)); } });
  await client.nc.flush();
  await sleep(800);
  for (let i = 0; i < 10; i++) client.nc.publish("watchmesh.v1.match.all", encode("q"), { reply: `_INBOX.watchmesh.${id}.all${i}` });
  for (let i = 0; i < 5; i++) client.nc.publish("watchmesh.v1.match.country.FRA", encode("q"), { reply: `_INBOX.watchmesh.${id}.fra${i}` });
  await client.nc.flush();
  await sleep(1000);
  const counts = { FRA: answers.filter((a) => a === "FRA").length, DEU: answers.filter((a) => a === "DEU").length, total: answers.length };
  check(`${label}: 10 fan-out queries answered once by FRA and DEU, 5 FRA queries by FRA`, counts.FRA === 15 && counts.DEU === 10 && counts.total === 25, counts);
}
check("FRA leaf receives FRA queries", seen.fraLeafCountry === 10, seen);
check("DEU leaf never receives FRA queries", seen.deuSawFra === 0, seen);

const spied = [];
coordDirect.nc.subscribe("_INBOX.watchmesh.spy.*", { callback: (error, msg) => { if (!error) spied.push(msg.subject); } });
await coordDirect.nc.flush();
await sleep(500);
const fraBefore = seen.fraDirect;
nodeFra.nc.publish("_INBOX.watchmesh.spy.forged", encode("forged"));
leafFra.nc.publish("_INBOX.watchmesh.spy.forged", encode("forged"));
nodeFra.nc.publish("watchmesh.v1.match.all", encode("q"), { reply: "_INBOX.watchmesh.spy.q" });
leafDeu.nc.publish("watchmesh.v1.match.all", encode("q"), { reply: "_INBOX.watchmesh.spy.q" });
await Promise.all([nodeFra.nc.flush(), leafFra.nc.flush(), leafDeu.nc.flush()]);
await sleep(600);
check("nodes can neither write into a coordinator inbox uninvited nor publish queries", spied.length === 0 && seen.fraDirect === fraBefore, { spied });

// --- Leaf queue groups (what real nodes behind a leaf do) --------------------------------------
const varz = await (await fetch(`http://127.0.0.1:${base + 31}/varz`)).json();
const [major, minor] = String(varz.version).split(".").map(Number);
{
  const deuQueue = await conn(LEAF_DEU, "node");
  let got = 0;
  deuQueue.nc.subscribe("watchmesh.v1.match.country.DEU", { queue: "watchmesh-node-DEU", callback: (error, msg) => { if (!error) { got++; msg.respond(encode("DEU")); } } });
  await deuQueue.nc.flush();
  await sleep(1500);
  coordDirect.nc.publish("watchmesh.v1.match.country.DEU", encode("q"));
  await coordDirect.nc.flush();
  await sleep(500);
  if (major > 2 || (major === 2 && minor >= 11)) check("queue group behind a leaf receives its country's queries", got === 1, { got });
  else skip("queue group behind a leaf", `nats-server ${varz.version} predates the fix for nats-server#6281 (got ${got}); use 2.11 or later on the hub`);
}

// --- JetStream: R3 notification stream -------------------------------------------------------
const ops = await conn(HUB_A, "ops");
const jsm = await jetstreamManager(ops.nc);
const stream = await jsm.streams.add({
  name: "WATCHMESH_NOTIFY_SELFTEST",
  subjects: ["watchmesh.v1.notify.*"],
  num_replicas: 3,
  storage: "file",
});
check("ops creates an R3 stream on watchmesh.v1.notify.*", stream.config.num_replicas === 3 && (stream.cluster?.replicas?.length ?? 0) === 2, stream.cluster);
const notified = [];
nodeFra.nc.subscribe("watchmesh.v1.notify.FRA", { callback: (error, msg) => { if (!error) notified.push(msg.subject); } });
await nodeFra.nc.flush();
await sleep(300);
const js = jetstream(ops.nc);
await js.publish("watchmesh.v1.notify.FRA", encode("n"));
await js.publish("watchmesh.v1.notify.DEU", encode("n"));
await sleep(300);
const info = await jsm.streams.info("WATCHMESH_NOTIFY_SELFTEST");
check("notifications stored and delivered to their country only", info.state.messages === 2 && notified.length === 1 && notified[0] === "watchmesh.v1.notify.FRA", { stored: info.state.messages, notified });
let coordinatorReachedJs = false;
try {
  const coordJsm = await jetstreamManager(coordDirect.nc, { timeout: 1500 });
  await coordJsm.streams.info("WATCHMESH_NOTIFY_SELFTEST");
  coordinatorReachedJs = true;
} catch {
  // expected: no permission for the JetStream API
}
check("coordinator has no JetStream API access", !coordinatorReachedJs);
await jsm.streams.delete("WATCHMESH_NOTIFY_SELFTEST");

for (const nc of open) await nc.close().catch(() => undefined);
const failed = results.filter((ok) => !ok).length;
console.log(`nats-server ${varz.version}`);
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
