// Checks a Grafana dashboard against the metrics the services really export:
// every taskgrid_* series in a query must be a metric named in the C++
// sources (histograms may add _bucket/_sum/_count), and every label the
// query filters or groups by must be one that metric's source file names,
// as must every literal label value it filters on.
const TARGET_LABELS = new Set(["namespace", "pod", "job", "instance", "service", "container", "endpoint", "le", "__name__"]);

function queries(dashboard) {
  const out = [];
  const walk = (panels) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === "string" ? v.query : v.query?.query;
    if (v.type === "query" && q) out.push({ panel: `variable ${v.name}`, expr: q });
  }
  return out;
}

export function resolveMetric(name, metrics) {
  if (metrics.has(name)) return metrics.get(name);
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return base !== name ? metrics.get(base) : undefined;
}

export function checkDashboard(dashboard, metrics, where, errors) {
  if (!dashboard.uid || !dashboard.title) errors.push(`${where}: dashboard needs uid and title`);
  const ids = new Set();
  let panelCount = 0;
  const walk = (panels) => {
    for (const p of panels ?? []) {
      panelCount++;
      if (ids.has(p.id)) errors.push(`${where}: panel id ${p.id} used twice`);
      ids.add(p.id);
      if (p.type !== "row" && !(p.targets ?? []).length) errors.push(`${where}: panel "${p.title}" has no query`);
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  if (panelCount === 0) errors.push(`${where}: dashboard has no panels`);
  for (const { panel, expr } of queries(dashboard)) {
    const used = [...expr.matchAll(/\btaskgrid_[a-z0-9_]+/g)].map((m) => m[0]);
    if (used.length === 0) errors.push(`${where}: "${panel}" queries no taskgrid metric: ${expr}`);
    const sources = [];
    for (const name of used) {
      const src = resolveMetric(name, metrics);
      if (!src) errors.push(`${where}: "${panel}" uses ${name}, which no service exports`);
      else sources.push(src);
    }
    if (sources.length > 0) checkLabels(expr, sources, `${where}: "${panel}"`, errors);
  }
}

// The labels a PromQL expression filters or groups by, and the literal
// values it filters on, must be ones the metrics' source files name
// (Prometheus's target labels aside). `$variables` and "" (label absent /
// present) are not checked as values.
export function checkLabels(expr, sources, where, errors) {
  const known = (s) => sources.some((src) => src.literals.has(s));
  for (const m of expr.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
    const [, label, op, value] = m;
    if (TARGET_LABELS.has(label)) continue;
    if (!known(label)) errors.push(`${where} filters on label ${label}, which its metrics do not have`);
    else if ((op === "=" || op === "!=") && value !== "" && !value.includes("$") && !known(value)) errors.push(`${where} filters ${label}="${value}", a value the source never sets`);
  }
  for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const label of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      if (!TARGET_LABELS.has(label) && !known(label) && !label.startsWith("<<")) errors.push(`${where} groups by ${label}, which its metrics do not have`);
    }
  }
}

export function isTargetLabel(label) {
  return TARGET_LABELS.has(label);
}
