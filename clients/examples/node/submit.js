#!/usr/bin/env node
// Submits a JSON task graph (the REST format) to the taskgrid gateway's
// gRPC Jobs API with @grpc/grpc-js + @grpc/proto-loader, waits for the job
// with WatchJob, and prints one "KEY VALUE" line per wanted key (values as
// JSON). Exit code 1 when a key failed.
//
//   npm install            # once, in this directory
//   node submit.js 127.0.0.1:8788 ../graph.json [--token TOKEN]

"use strict";
const fs = require("fs");
const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const protobuf = require("protobufjs");  // installed with proto-loader

const PROTOS = path.resolve(__dirname, "..", "..", "..", "protos");

function parseArgs(argv) {
  const positional = [];
  let token = process.env.TASKGRID_TOKEN || "";
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--token") token = argv[++i];
    else positional.push(argv[i]);
  }
  if (positional.length !== 2) {
    console.error("usage: node submit.js GATEWAY_GRPC_ADDRESS GRAPH.json [--token TOKEN]");
    process.exit(2);
  }
  return { address: positional[0], graph: positional[1], token };
}

// JSON argument -> taskgrid.v1.Value object ({"ref": K}, {"b64": ...} as in REST).
function toValue(j) {
  if (j === null) return { nullValue: {} };
  if (typeof j === "boolean") return { boolValue: j };
  if (typeof j === "number") return Number.isInteger(j) ? { intValue: j } : { doubleValue: j };
  if (typeof j === "string") return { stringValue: j };
  if (Array.isArray(j)) return { listValue: { items: j.map(toValue) } };
  const keys = Object.keys(j);
  if (keys.length === 1 && keys[0] === "ref") return { ref: j.ref };
  if (keys.length === 1 && keys[0] === "b64") return { bytesValue: Buffer.from(j.b64, "base64") };
  const entries = {};
  for (const k of keys) entries[k] = toValue(j[k]);
  return { mapValue: { entries } };
}

// Decoded taskgrid.v1.Value -> plain JSON.
function fromValue(v) {
  if (v.nullValue !== undefined) return null;
  for (const f of ["boolValue", "stringValue", "doubleValue"]) if (v[f] !== undefined) return v[f];
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.bytesValue !== undefined) return { b64: Buffer.from(v.bytesValue).toString("base64") };
  if (v.listValue !== undefined) return (v.listValue.items || []).map(fromValue);
  if (v.mapValue !== undefined) {
    const out = {};
    for (const [k, x] of Object.entries(v.mapValue.entries || {})) out[k] = fromValue(x);
    return out;
  }
  if (v.arrayValue !== undefined) {
    const a = v.arrayValue;
    return { dtype: a.dtype, shape: (a.shape || []).map(Number),
             b64: Buffer.from(a.data || []).toString("base64") };
  }
  return null;
}

function unary(client, method, request, metadata) {
  return new Promise((resolve, reject) =>
    client[method](request, metadata, (err, res) => (err ? reject(err) : resolve(res))));
}

function collect(stream, onData) {
  return new Promise((resolve, reject) => {
    stream.on("data", onData);
    stream.on("error", reject);
    stream.on("end", resolve);
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const graph = JSON.parse(fs.readFileSync(args.graph, "utf8"));
  const options = { keepCase: false, longs: String, enums: String, defaults: false,
                    oneofs: true, includeDirs: [PROTOS] };
  const definition = protoLoader.loadSync("taskgrid/v1/jobs.proto", options);
  const v1 = grpc.loadPackageDefinition(definition).taskgrid.v1;
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => path.join(PROTOS, target);
  root.loadSync("taskgrid/v1/common.proto");
  const Value = root.lookupType("taskgrid.v1.Value");

  const client = new v1.Jobs(args.address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (args.token) metadata.set("authorization", "Bearer " + args.token);

  const tasks = Object.entries(graph.tasks).map(([key, t]) => ({
    key, function: t.fn, runtime: t.runtime || "", retries: t.retries || 0,
    args: (t.args || []).map(toValue),
    kwargs: Object.fromEntries(Object.entries(t.kwargs || {}).map(([k, a]) => [k, toValue(a)])),
    resources: t.resources || {},
  }));
  const job = await unary(client, "SubmitJob",
                          { tasks, keys: graph.keys || [], priority: graph.priority || 0,
                            name: "node-example" }, metadata);
  console.error("job " + job.id);
  await collect(client.WatchJob({ id: job.id }, metadata), (ev) => {
    if (ev.key) console.error("  " + ev.key.key + ": " + ev.key.state);
  });
  const done = await unary(client, "GetJob", { id: job.id }, metadata);
  let failed = false;
  for (const k of done.keys) {
    if (k.state !== "KEY_STATE_MEMORY") {
      failed = true;
      console.log(k.key + " ERROR " + k.state + " " + ((k.error && k.error.message) || ""));
      continue;
    }
    const chunks = [];
    await collect(client.GetResult({ jobId: job.id, key: k.key }, metadata),
                  (c) => chunks.push(Buffer.from(c.data)));
    const value = Value.toObject(Value.decode(Buffer.concat(chunks)), { longs: String });
    console.log(k.key + " " + JSON.stringify(fromValue(value)));
  }
  const workers = await unary(client, "ListWorkers", {}, metadata);
  console.error("workers: " + workers.workers.map((w) => w.address).join(", "));
  client.close();
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error("error: " + (err.details || err.message));
  process.exit(1);
});
