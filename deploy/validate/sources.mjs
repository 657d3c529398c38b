// What the manifests must agree with, read from the C++ sources as they are:
// the flags each taskgrid binary accepts (its Flags::Parse call), the
// integer defaults it reads, whether it takes a SCHEDULER_ADDRESS, and the
// metric names and label strings the services export. Reading the sources
// (not a copied list) is the point: renaming a flag or a metric in C++ breaks
// this check until the manifests and the dashboard follow.
import fs from "node:fs";
import path from "node:path";

function listSources(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(p));
    else if (/\.(cc|h)$/.test(entry.name) && !/_test\.cc$/.test(entry.name)) out.push(p);
  }
  return out;
}

function quotedStrings(text) {
  return [...text.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
}

// One binary per services/<dir>: taskgrid-<dir>, defined by the sources in
// that directory that call Flags::Parse.
export function readBinaries(repo) {
  const binaries = new Map();
  const servicesDir = path.join(repo, "services");
  for (const dir of fs.readdirSync(servicesDir)) {
    const files = listSources(path.join(servicesDir, dir));
    const texts = files.map((f) => fs.readFileSync(f, "utf8"));
    const parsing = texts.filter((t) => t.includes("Flags::Parse("));
    if (parsing.length === 0) continue;
    const flags = new Set();
    const booleans = new Set();
    const defaults = new Map();
    for (const text of parsing) {
      const re = /Flags::Parse\(\s*argc\s*,\s*argv\s*,\s*\{([^}]*)\}\s*(?:,\s*\{([^}]*)\})?/g;
      for (const m of text.matchAll(re)) {
        quotedStrings(m[1]).forEach((f) => flags.add(f));
        quotedStrings(m[2] ?? "").forEach((f) => booleans.add(f));
      }
      // flags.GetInt("port", 8786), also through local helpers (get_int(...)).
      for (const m of text.matchAll(/\b(?:Get(?:Int|String)|get_\w+)\(\s*"([a-z0-9-]+)"\s*,\s*("[^"]*"|-?\d+)\s*[,)]/g)) {
        defaults.set(m[1], m[2].startsWith('"') ? m[2].slice(1, -1) : m[2]);
      }
    }
    booleans.forEach((b) => flags.delete(b));
    binaries.set(`taskgrid-${dir}`, {
      flags,
      booleans,
      defaults,
      takesSchedulerAddress: parsing.some((t) => t.includes("ResolveSchedulerAddress(")),
    });
  }
  return binaries;
}

export function envName(flag) {
  return "TASKGRID_" + flag.toUpperCase().replace(/-/g, "_");
}

// Metric name -> the string literals of the file that names it (its label
// names and label values are among them).
export function readMetrics(repo) {
  const metrics = new Map();
  for (const file of listSources(path.join(repo, "services"))) {
    const strings = quotedStrings(fs.readFileSync(file, "utf8"));
    const literals = new Set(strings);
    for (const s of strings) {
      if (/^taskgrid_[a-z0-9_]+$/.test(s)) metrics.set(s, { file, literals });
    }
  }
  return metrics;
}
