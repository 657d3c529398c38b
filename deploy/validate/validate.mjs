#!/usr/bin/env node
// Validates rendered taskgrid manifests (the output of `kubectl kustomize`):
//   node validate.mjs --repo ROOT [--require Kind,Kind] [--require-worker-anti-affinity]
//                     [--dashboard FILE] RENDERED.yaml...
// 1. every object against the Kubernetes OpenAPI schema of its kind
//    (schema.mjs);
// 2. the wiring between objects and against the C++ sources: flags, env
//    vars, ports, probes, selectors, scheduler address (topology.mjs,
//    containers.mjs);
// 3. Grafana dashboards (in ConfigMaps labelled grafana_dashboard, and
//    --dashboard files) against the exported metrics (dashboard.mjs);
// 4. autoscalers' custom/external metrics against the prometheus-adapter
//    rules rendered with them, and those rules against the exported metrics
//    (autoscaling.mjs).
// Prints every problem found and exits 1 if there is any.
import fs from "node:fs";
import { parseAllDocuments } from "yaml";
import { schemaErrors } from "./schema.mjs";
import { readBinaries, readMetrics } from "./sources.mjs";
import { checkTopology } from "./topology.mjs";
import { checkDashboard } from "./dashboard.mjs";
import { checkAutoscalingMetrics } from "./autoscaling.mjs";

function parseCommandLine(argv) {
  const opts = { repo: null, require: [], antiAffinity: false, dashboards: [], files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--repo") opts.repo = argv[++i];
    else if (a === "--require") opts.require.push(...argv[++i].split(",").filter(Boolean));
    else if (a === "--require-worker-anti-affinity") opts.antiAffinity = true;
    else if (a === "--dashboard") opts.dashboards.push(argv[++i]);
    else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
    else opts.files.push(a);
  }
  if (!opts.repo || (opts.files.length === 0 && opts.dashboards.length === 0)) {
    throw new Error("usage: validate.mjs --repo ROOT [--require Kind,...] [--require-worker-anti-affinity] [--dashboard FILE] RENDERED.yaml...");
  }
  return opts;
}

async function validateFile(file, opts, binaries, metrics) {
  const errors = [];
  const docs = [];
  for (const d of parseAllDocuments(fs.readFileSync(file, "utf8"))) {
    if (d.errors.length) errors.push(...d.errors.map((e) => `YAML: ${e.message}`));
    const obj = d.toJS();
    if (obj) docs.push(obj);
  }
  for (const obj of docs) {
    for (const e of await schemaErrors(obj)) errors.push(`${obj.kind}/${obj.metadata?.name}: schema: ${e}`);
  }
  const { workers } = checkTopology(docs, binaries, errors);
  checkAutoscalingMetrics(docs, metrics, errors);
  for (const kind of opts.require) {
    if (!docs.some((d) => d.kind === kind)) errors.push(`no ${kind} rendered`);
  }
  if (opts.antiAffinity) {
    for (const p of workers) {
      const terms = [
        ...(p.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => t.podAffinityTerm),
        ...(p.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ];
      const spreads = terms.some((t) => t?.topologyKey && Object.entries(t.labelSelector?.matchLabels ?? {}).length > 0 &&
        Object.entries(t.labelSelector.matchLabels).every(([k, v]) => p.labels[k] === v));
      if (!spreads) errors.push(`${p.workload.kind}/${p.workload.metadata.name}: no pod anti-affinity that selects the workers themselves`);
    }
  }
  for (const cm of docs.filter((d) => d.kind === "ConfigMap" && d.metadata?.labels?.grafana_dashboard)) {
    for (const [key, text] of Object.entries(cm.data ?? {})) {
      try {
        checkDashboard(JSON.parse(text), metrics, `ConfigMap/${cm.metadata.name}/${key}`, errors);
      } catch (e) {
        errors.push(`ConfigMap/${cm.metadata.name}/${key}: not JSON: ${e.message}`);
      }
    }
  }
  return { docs, errors };
}

async function main() {
  const opts = parseCommandLine(process.argv.slice(2));
  const binaries = readBinaries(opts.repo);
  const metrics = readMetrics(opts.repo);
  let failed = 0;
  for (const file of opts.dashboards) {
    const errors = [];
    checkDashboard(JSON.parse(fs.readFileSync(file, "utf8")), metrics, file, errors);
    errors.forEach((e) => console.log(`FAIL ${e}`));
    console.log(`${errors.length ? "FAIL" : "ok"}   ${file}: dashboard${errors.length ? `, ${errors.length} problem(s)` : " queries only exported metrics"}`);
    failed += errors.length;
  }
  for (const file of opts.files) {
    const { docs, errors } = await validateFile(file, opts, binaries, metrics);
    errors.forEach((e) => console.log(`FAIL ${file}: ${e}`));
    console.log(`${errors.length ? "FAIL" : "ok"}   ${file}: ${docs.length} objects${errors.length ? `, ${errors.length} problem(s)` : ", schemas and wiring valid"}`);
    failed += errors.length;
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(`validate.mjs: ${e.stack ?? e}`);
  process.exit(2);
});
