// Checks that autoscalers scale on metrics that exist: every Pods, Object
// or External metric a HorizontalPodAutoscaler asks for must be the API name
// of a prometheus-adapter rule shipped in a ConfigMap of the same render
// (`rules` serve custom.metrics.k8s.io for Pods/Object metrics,
// `externalRules` external.metrics.k8s.io for External ones), and every rule
// must discover a series the services really export (sources.mjs), filter
// only on labels and values their sources set, and keep the adapter's
// <<.Series>> / <<.LabelMatchers>> placeholders so that the HPA's namespace
// and selector reach the query.
import { parse } from "yaml";
import { checkLabels, isTargetLabel, resolveMetric } from "./dashboard.mjs";

const RULE_KINDS = { rules: "custom", externalRules: "external" };

// A ConfigMap value is an adapter config if it parses as YAML with a rules
// or externalRules list of objects carrying a seriesQuery.
function adapterConfigs(docs) {
  const out = [];
  for (const cm of docs.filter((d) => d.kind === "ConfigMap")) {
    for (const [key, text] of Object.entries(cm.data ?? {})) {
      let config;
      try {
        config = parse(text);
      } catch {
        continue;
      }
      if (!config || typeof config !== "object") continue;
      const lists = Object.keys(RULE_KINDS).filter((k) => Array.isArray(config[k]));
      if (lists.length && lists.every((k) => config[k].every((r) => typeof r?.seriesQuery === "string"))) {
        out.push({ where: `ConfigMap/${cm.metadata.name}/${key}`, config });
      }
    }
  }
  return out;
}

// The metric names a seriesQuery selects among the exported ones:
// `name{...}`, `{__name__="name"}` or `{__name__=~"regex"}`.
function seriesNames(query, metrics) {
  const bare = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{|$)/.exec(query);
  const exact = /__name__\s*=\s*"([^"]*)"/.exec(query);
  const regex = /__name__\s*=~\s*"([^"]*)"/.exec(query);
  if (bare || exact) {
    const name = (bare ?? exact)[1];
    return { selector: name, names: resolveMetric(name, metrics) ? [name] : [] };
  }
  if (regex) {
    const re = new RegExp(`^(?:${regex[1]})$`);
    return { selector: `__name__=~"${regex[1]}"`, names: [...metrics.keys()].filter((n) => re.test(n)) };
  }
  return { selector: null, names: [] };
}

// prometheus-adapter's naming: `matches` (default .*) finds a match anywhere
// in the series name; `as` defaults to $0 without capture groups, $1 with one.
function apiName(series, name, where, errors) {
  const re = new RegExp(name?.matches ?? ".*");
  const m = re.exec(series);
  if (!m) return null;
  let as = name?.as;
  if (!as) {
    const groups = m.length - 1;
    if (groups > 1) {
      errors.push(`${where}: name.matches has ${groups} capture groups but no name.as`);
      return null;
    }
    as = groups === 1 ? "$1" : "$0";
  }
  return as.replace(/\$\{(\d+)\}|\$(\d+)/g, (_, a, b) => m[Number(a ?? b)] ?? "");
}

function checkRule(rule, kind, metrics, where, errors) {
  const provided = new Set();
  const { selector, names } = seriesNames(rule.seriesQuery, metrics);
  if (!selector) {
    errors.push(`${where}: seriesQuery ${JSON.stringify(rule.seriesQuery)} names no metric`);
    return provided;
  }
  if (names.length === 0) {
    errors.push(`${where}: seriesQuery selects ${selector}, which no service exports`);
    return provided;
  }
  const kept = names.filter((n) => (rule.seriesFilters ?? []).every((f) =>
    (f.is === undefined || new RegExp(f.is).test(n)) && (f.isNot === undefined || !new RegExp(f.isNot).test(n))));
  const sources = kept.map((n) => resolveMetric(n, metrics));
  for (const n of kept) {
    const api = apiName(n, rule.name, where, errors);
    if (api) provided.add(api);
  }
  if (provided.size === 0) errors.push(`${where}: name.matches ${JSON.stringify(rule.name?.matches)} matches none of ${kept.join(", ") || "(no series left by seriesFilters)"}`);
  if (sources.length === 0) return provided;
  const query = rule.metricsQuery ?? "";
  for (const placeholder of ["<<.Series>>", "<<.LabelMatchers>>"]) {
    if (!query.includes(placeholder)) errors.push(`${where}: metricsQuery lacks ${placeholder} (the adapter puts the HPA's series and namespace there)`);
  }
  const exprs = [rule.seriesQuery, query.replaceAll("<<.Series>>", kept[0] ?? "")];
  for (const expr of exprs) {
    checkLabels(expr, sources, where, errors);
    // A regex of plain alternatives (state=~"queued|processing") names values.
    for (const m of expr.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=~\s*"([A-Za-z0-9_-]+(?:\|[A-Za-z0-9_-]+)*)"/g)) {
      if (isTargetLabel(m[1]) || m[1] === "__name__") continue;
      for (const v of m[2].split("|")) {
        if (!sources.some((s) => s.literals.has(v))) errors.push(`${where} filters ${m[1]}=~"${m[2]}", but the source never sets the value ${v}`);
      }
    }
  }
  const overrides = rule.resources?.overrides ?? {};
  if (kind === "external" && rule.resources?.namespaced !== false && !overrides.namespace) {
    errors.push(`${where}: external rule maps no namespace label (resources.overrides.namespace), so it cannot answer a namespaced HPA`);
  }
  for (const label of Object.keys(overrides)) {
    if (!isTargetLabel(label) && !sources.some((s) => s.literals.has(label))) errors.push(`${where}: resources.overrides maps label ${label}, which the series do not have`);
  }
  return provided;
}

export function checkAutoscalingMetrics(docs, metrics, errors) {
  const provided = { custom: new Map(), external: new Map() };
  const ruleCount = { custom: 0, external: 0 };
  for (const { where, config } of adapterConfigs(docs)) {
    for (const [list, kind] of Object.entries(RULE_KINDS)) {
      ruleCount[kind] += (config[list] ?? []).length;
      (config[list] ?? []).forEach((rule, i) => {
        const at = `${where} ${list}[${i}]`;
        for (const name of checkRule(rule, kind, metrics, at, errors)) provided[kind].set(name, { rule, at });
      });
    }
  }
  for (const h of docs.filter((d) => d.kind === "HorizontalPodAutoscaler")) {
    const where = `HorizontalPodAutoscaler/${h.metadata?.name}`;
    for (const m of h.spec?.metrics ?? []) {
      const spec = m.type === "External" ? m.external : m.type === "Pods" ? m.pods : m.type === "Object" ? m.object : null;
      if (!spec) continue;
      const kind = m.type === "External" ? "external" : "custom";
      const name = spec.metric?.name;
      const hit = provided[kind].get(name);
      if (!hit) {
        const known = [...provided[kind].keys()];
        errors.push(`${where}: scales on ${kind} metric ${name}, which no prometheus-adapter rule provides (${known.length ? `rules provide ${known.join(", ")}` : ruleCount[kind] ? "its rules provide no metric" : `no ConfigMap carries prometheus-adapter ${kind === "external" ? "externalRules" : "rules"}`})`);
        continue;
      }
      const { names } = seriesNames(hit.rule.seriesQuery, metrics);
      const sources = names.map((n) => resolveMetric(n, metrics));
      for (const label of Object.keys(spec.metric?.selector?.matchLabels ?? {})) {
        if (!isTargetLabel(label) && !sources.some((s) => s.literals.has(label))) errors.push(`${where}: metric ${name} selects on label ${label}, which ${names.join(", ")} does not have`);
      }
    }
  }
}
