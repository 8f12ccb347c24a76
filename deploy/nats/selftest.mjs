// Checks the NATS configs of this folder against running servers started by selftest.sh:
// every user's permissions, scatter/gather across routes and leaf links, the JetStream streams (R3)
// and every user's JetStream rights, on the hub and through a country's leaf link.
// Uses the repository's own NATS client. Prints "N passed, N failed" and exits non-zero on failure.
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";

const base = Number(process.env.SELFTEST_BASE_PORT ?? 24000);
const HUB_A = base + 1, HUB_B = base + 2, HUB_C = base + 3;
const LEAF_FRA = base + 41, LEAF_DEU = base + 42;
// Placeholder passwords set by selftest.sh: hub users, and the local "node" user of each leaf.
const PW = {
  coordinator: "t-coord", "node-FRA": "t-node-fra", "node-DEU": "t-node-deu", "node-ESP": "t-node-esp", ops: "t-ops",
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
    // As the application does (common/subjects.ts userInboxPrefix): each user's replies under its own prefix.
    ...(user ? { user, pass: passwordOf(port, user), inboxPrefix: `_INBOX_${user}` } : {}),
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
await allowed("node-FRA: queue-subscribe its shard match.shard.0 in watchmesh-node-FRA", HUB_B, "node-FRA", "watchmesh.v1.match.shard.0", "watchmesh-node-FRA");
await denied("node-FRA: DEU's shard match.shard.5 refused", HUB_B, "node-FRA", "watchmesh.v1.match.shard.5", "watchmesh-node-FRA");
await allowed("node-FRA: notify.FRA", HUB_B, "node-FRA", "watchmesh.v1.notify.FRA");
await denied("node-FRA: notify.DEU refused", HUB_B, "node-FRA", "watchmesh.v1.notify.DEU");
await denied("node-FRA: coordinator inboxes refused", HUB_B, "node-FRA", "_INBOX.watchmesh.>");
await denied("node-FRA: every inbox (_INBOX.>) refused", HUB_B, "node-FRA", "_INBOX.>");
await allowed("node-DEU: queue-subscribe match.country.DEU", HUB_B, "node-DEU", "watchmesh.v1.match.country.DEU", "watchmesh-node-DEU");
await allowed("coordinator: its inbox _INBOX.watchmesh.<id>.*", HUB_A, "coordinator", "_INBOX.watchmesh.x.*");
await denied("coordinator: match.all refused", HUB_A, "coordinator", "watchmesh.v1.match.all");
await allowed("FRA leaf, local node user: queue-subscribe match.all", LEAF_FRA, "node", "watchmesh.v1.match.all", "watchmesh-node-FRA");
await denied("FRA leaf, local node user: _INBOX.> refused", LEAF_FRA, "node", "_INBOX.>");
await denied("FRA leaf, local node user: coordinator inboxes refused", LEAF_FRA, "node", "_INBOX.watchmesh.>");

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

// --- JetStream: the two R3 streams and every user's rights on them ---------------------------------
// No sleeping here: every step waits for a reply (JetStream acks, ackAck, pulls), and a refusal comes
// back as a permission error.
const NOTIFY = "WATCHMESH_NOTIFY", FOLLOWUP = "WATCHMESH_FOLLOWUP";
const ops = await conn(HUB_A, "ops");
const jsm = await jetstreamManager(ops.nc);
const DAY_NS = 24 * 3600 * 1e9;
const streamDefaults = { num_replicas: 3, storage: "file", retention: "limits", discard: "old", max_age: 30 * DAY_NS, duplicate_window: 120e9 };
for (const name of [NOTIFY, FOLLOWUP]) await jsm.streams.delete(name).catch(() => undefined); // a rerun on the same store
const notifyInfo = await jsm.streams.add({ name: NOTIFY, subjects: ["watchmesh.v1.notify.*"], ...streamDefaults });
const followupInfo = await jsm.streams.add({ name: FOLLOWUP, subjects: ["watchmesh.v1.followup.request.*", "watchmesh.v1.followup.reply.*"], ...streamDefaults });
check("ops creates WATCHMESH_NOTIFY and WATCHMESH_FOLLOWUP with three replicas", [notifyInfo, followupInfo].every((i) => i.config.num_replicas === 3 && (i.cluster?.replicas?.length ?? 0) === 2), [notifyInfo.cluster, followupInfo.cluster]);

/** The error a call ends with, or "" when it succeeds. */
const failure = async (work) => {
  try {
    await work;
    return "";
  } catch (error) {
    return String(error?.message ?? error);
  }
};
const refusedHub = (message) => /permissions violation/i.test(message);
const encodeJson = (value) => encode(JSON.stringify(value));
/** Pulls one message of a durable with the caller's rights, acknowledges it and waits for the server's confirmation. */
async function pullAndAck(nc, stream, durable) {
  const consumer = await jetstream(nc).consumers.get(stream, durable);
  const message = await consumer.next({ expires: 3000 });
  return { message, acked: message ? await message.ackAck() : false };
}

// Inboxes: node-ESP may read its own inbox only, on any hub server; never a wildcard that covers
// another user's replies or pulled messages.
for (const [port, wildcard] of [[HUB_B, "_INBOX.*.*"], [HUB_A, "_INBOX.*.>"], [HUB_B, "_INBOX.>"], [HUB_A, "_INBOX_node-DEU.>"], [HUB_B, "_INBOX_coordinator.>"], [HUB_A, ">"]]) {
  await denied(`node-ESP: ${wildcard} refused`, port, "node-ESP", wildcard);
}
await allowed("node-ESP: its own inbox _INBOX_node-ESP.>", HUB_B, "node-ESP", "_INBOX_node-ESP.>");

// The coordinator publishes notifications with JetStream and checks its stream.
const coordJs = jetstream(coordDirect.nc);
const acks = [await coordJs.publish("watchmesh.v1.notify.DEU", encode("n-deu")), await coordJs.publish("watchmesh.v1.notify.FRA", encode("n-fra"))];
check("coordinator: JetStream-publishes notifications (acked by the R3 stream)", acks.every((a) => a.stream === NOTIFY && a.seq > 0), acks);
const coordJsm = await jetstreamManager(coordDirect.nc);
check("coordinator: STREAM.INFO WATCHMESH_NOTIFY", (await coordJsm.streams.info(NOTIFY)).state.messages === 2);
check("coordinator: no consumer of its own", refusedHub(await failure(coordJsm.consumers.add(NOTIFY, { durable_name: "watchmesh-notify-DEU", filter_subject: "watchmesh.v1.notify.DEU" }))));
check("coordinator: no follow-up", refusedHub(await failure(coordJs.publish("watchmesh.v1.followup.request.DEU", encode("x")))));

// node-DEU on the hub: its own durable, created with its filter, pulled and acknowledged.
const nodeDeu = await conn(HUB_B, "node-DEU");
const deuJsm = await jetstreamManager(nodeDeu.nc);
const created = await deuJsm.consumers.add(NOTIFY, { durable_name: "watchmesh-notify-DEU", filter_subject: "watchmesh.v1.notify.DEU", ack_policy: "explicit" });
check("node-DEU: creates watchmesh-notify-DEU (CONSUMER.CREATE with its filter) and reads its info", created.config.filter_subject === "watchmesh.v1.notify.DEU" && (await deuJsm.consumers.info(NOTIFY, "watchmesh-notify-DEU")).name === "watchmesh-notify-DEU");
{
  const { message, acked } = await pullAndAck(nodeDeu.nc, NOTIFY, "watchmesh-notify-DEU");
  check("node-DEU: pulls its notification and acks it", message?.subject === "watchmesh.v1.notify.DEU" && decode(message.data) === "n-deu" && acked);
}
check("node-DEU: FRA's consumer info refused", refusedHub(await failure(deuJsm.consumers.info(NOTIFY, "watchmesh-notify-FRA"))));
check("node-DEU: creating FRA's consumer refused", refusedHub(await failure(deuJsm.consumers.add(NOTIFY, { durable_name: "watchmesh-notify-FRA", filter_subject: "watchmesh.v1.notify.FRA" }))));
check("node-DEU: its own consumer name with FRA's filter refused", refusedHub(await failure(deuJsm.consumers.add(NOTIFY, { durable_name: "watchmesh-notify-DEU", filter_subject: "watchmesh.v1.notify.FRA" }))));
check("node-DEU: DURABLE.CREATE (no filter in the subject) refused", refusedHub(await failure(nodeDeu.nc.request("$JS.API.CONSUMER.DURABLE.CREATE.WATCHMESH_NOTIFY.watchmesh-notify-DEU", encodeJson({ stream_name: NOTIFY, config: { durable_name: "watchmesh-notify-DEU", filter_subject: "watchmesh.v1.notify.FRA" } })))));
check("node-DEU: pulling from FRA's durables refused", refusedHub(await failure(nodeDeu.nc.request("$JS.API.CONSUMER.MSG.NEXT.WATCHMESH_NOTIFY.watchmesh-notify-FRA", encodeJson({ batch: 1 })))) && refusedHub(await failure(nodeDeu.nc.request("$JS.API.CONSUMER.MSG.NEXT.WATCHMESH_FOLLOWUP.watchmesh-followup-FRA", encodeJson({ batch: 1 })))));
check("node-DEU: reading the replies to FRA refused", refusedHub(await failure(jetstream(nodeDeu.nc).consumers.get(FOLLOWUP, { filter_subjects: "watchmesh.v1.followup.reply.FRA" }))));
check("node-DEU: stream management refused", refusedHub(await failure(deuJsm.streams.purge(NOTIFY))) && refusedHub(await failure(deuJsm.streams.delete(FOLLOWUP))));

// DEU's own NATS server (leaf link as leaf-DEU, local user "node"): the hub's JetStream API does not
// cross a leaf link without a JetStream domain, so the node's first call answers "JetStream not
// enabled", which the node takes as "no notifications, no follow-ups" and starts anyway.
const leafDeuJs = await conn(LEAF_DEU, "node");
const leafJsError = await failure(jetstreamManager(leafDeuJs.nc, { timeout: 1500 }));
check("DEU leaf, local node: JetStream answers 'not enabled' (no domain across the leaf link), so its node runs without notifications", /jetstream (is )?not enabled/i.test(leafJsError), leafJsError);

// Follow-up round trip: FRA (node-FRA on nats-b) asks DEU (node-DEU on nats-b), DEU replies from
// nats-a, FRA reads the reply through an ordered consumer.
const fraJs = jetstream(nodeFra.nc);
const requestAck = await fraJs.publish("watchmesh.v1.followup.request.DEU", encode("request-1"), { msgID: "request:1" });
await deuJsm.consumers.add(FOLLOWUP, { durable_name: "watchmesh-followup-DEU", filter_subject: "watchmesh.v1.followup.request.DEU", ack_policy: "explicit" });
{
  const { message, acked } = await pullAndAck(nodeDeu.nc, FOLLOWUP, "watchmesh-followup-DEU");
  check("follow-up: node-FRA publishes a request, node-DEU creates watchmesh-followup-DEU, pulls and acks it", requestAck.stream === FOLLOWUP && decode(message?.data ?? new Uint8Array()) === "request-1" && acked);
}
const deuOnA = await conn(HUB_A, "node-DEU");
const replyAck = await jetstream(deuOnA.nc).publish("watchmesh.v1.followup.reply.FRA", encode("reply-1"), { msgID: "reply:1" });
const ordered = await jetstream(nodeFra.nc).consumers.get(FOLLOWUP, { filter_subjects: "watchmesh.v1.followup.reply.FRA" });
const reply = await ordered.next({ expires: 3000 });
check("follow-up: node-DEU JetStream-publishes the reply, node-FRA reads it through an ordered consumer", replyAck.stream === FOLLOWUP && reply?.subject === "watchmesh.v1.followup.reply.FRA" && decode(reply.data) === "reply-1");

for (const name of [NOTIFY, FOLLOWUP]) await jsm.streams.delete(name);

for (const nc of open) await nc.close().catch(() => undefined);
const failed = results.filter((ok) => !ok).length;
console.log(`nats-server ${varz.version}`);
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
