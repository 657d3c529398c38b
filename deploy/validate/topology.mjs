// Checks how the rendered objects refer to each other: Services and
// monitors select real pods and name real ports, the scheduler address
// reaches the scheduler's gRPC port through its Service, the autoscaler and
// disruption budgets target the workers, and the common labels are there.
import { checkContainer } from "./containers.mjs";

const NAMESPACED_EXEMPT = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"]);
const COMPONENT_KINDS = new Set(["Deployment", "StatefulSet", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor", "PodMonitor"]);
const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

const matches = (selector, labels) =>
  Object.keys(selector ?? {}).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

function selectorOf(sel) {
  if (sel?.matchExpressions?.length) return null; // not used by these manifests
  return sel?.matchLabels ?? {};
}

export function checkTopology(docs, binaries, errors) {
  const ctx = {
    binaries,
    find: (kind, name, ns) => docs.find((d) => d.kind === kind && d.metadata?.name === name && (ns === undefined || d.metadata?.namespace === ns)),
  };
  const seen = new Set();
  for (const d of docs) {
    const id = `${d.kind}/${d.metadata?.namespace ?? ""}/${d.metadata?.name}`;
    if (seen.has(id)) errors.push(`${id}: defined twice`);
    seen.add(id);
    const labels = d.metadata?.labels ?? {};
    for (const l of ["app.kubernetes.io/name", "app.kubernetes.io/part-of"]) {
      if (!labels[l]) errors.push(`${id}: no ${l} label`);
    }
    if (COMPONENT_KINDS.has(d.kind) && !labels["app.kubernetes.io/component"]) errors.push(`${id}: no app.kubernetes.io/component label`);
    if (!NAMESPACED_EXEMPT.has(d.kind) && !d.metadata?.namespace) errors.push(`${id}: no namespace`);
  }
  for (const d of docs) {
    if (d.metadata?.namespace && !ctx.find("Namespace", d.metadata.namespace)) {
      errors.push(`${d.kind}/${d.metadata.name}: namespace ${d.metadata.namespace} is not created by these manifests`);
      break;
    }
  }

  // Pods: every container is checked against its binary.
  const pods = [];
  for (const w of docs.filter((d) => WORKLOAD_KINDS.has(d.kind))) {
    const where = `${w.kind}/${w.metadata.name}`;
    const template = w.spec?.template ?? {};
    const podLabels = template.metadata?.labels ?? {};
    if (!matches(selectorOf(w.spec?.selector), podLabels)) errors.push(`${where}: selector does not match its pod template labels`);
    for (const l of ["app.kubernetes.io/name", "app.kubernetes.io/part-of", "app.kubernetes.io/component"]) {
      if (!podLabels[l]) errors.push(`${where}: pod template has no ${l} label`);
    }
    const spec = template.spec ?? {};
    if (spec.enableServiceLinks !== false) errors.push(`${where}: enableServiceLinks must be false (service env vars like TASKGRID_SCHEDULER_PORT would look like settings)`);
    if (spec.serviceAccountName && !ctx.find("ServiceAccount", spec.serviceAccountName, w.metadata.namespace)) errors.push(`${where}: ServiceAccount ${spec.serviceAccountName} does not exist`);
    const containers = [];
    for (const c of spec.containers ?? []) {
      const info = checkContainer(spec, c, ctx, `${where}/${c.name}`, errors);
      if (info) containers.push(info);
    }
    pods.push({ workload: w, ns: w.metadata.namespace, labels: podLabels, spec, containers });
  }
  for (const p of pods) checkPodVolumes(p, ctx, errors);
  const runs = (p, bin) => p.containers.some((c) => c.binaryName === bin);
  const scheduler = pods.filter((p) => runs(p, "taskgrid-scheduler"));
  const workers = pods.filter((p) => runs(p, "taskgrid-worker"));
  if (scheduler.length !== 1) errors.push(`expected exactly one workload running taskgrid-scheduler, found ${scheduler.length}`);
  for (const p of scheduler) {
    const w = p.workload;
    if ((w.spec.replicas ?? 1) !== 1) errors.push(`${w.kind}/${w.metadata.name}: the scheduler must have exactly 1 replica`);
    if (w.kind === "Deployment" && w.spec.strategy?.type !== "Recreate") errors.push(`${w.kind}/${w.metadata.name}: strategy must be Recreate (two schedulers would split the cluster)`);
  }
  for (const p of workers) {
    if ((p.spec.terminationGracePeriodSeconds ?? 30) < 60) errors.push(`${p.workload.kind}/${p.workload.metadata.name}: terminationGracePeriodSeconds under 60 leaves workers too little time to hand off results`);
  }

  // Services select pods and name ports that exist on every selected pod.
  const portOf = (pod, target) => {
    for (const c of pod.containers) {
      const n = typeof target === "string" ? c.byName.get(target) : [...c.portFlags.values()].includes(target) ? target : undefined;
      if (n !== undefined) return { container: c, port: n };
    }
    return undefined;
  };
  const services = docs.filter((d) => d.kind === "Service");
  const servicePods = new Map();
  for (const s of services) {
    const where = `Service/${s.metadata.name}`;
    const selected = pods.filter((p) => p.ns === s.metadata.namespace && matches(s.spec?.selector, p.labels));
    servicePods.set(s, selected);
    if (selected.length === 0) errors.push(`${where}: selector ${JSON.stringify(s.spec?.selector)} matches no pod template`);
    for (const port of s.spec?.ports ?? []) {
      for (const p of selected) {
        if (!portOf(p, port.targetPort ?? port.port)) errors.push(`${where}: port ${port.name ?? port.port} targets ${port.targetPort ?? port.port}, which ${p.workload.metadata.name}'s containers do not declare`);
      }
    }
  }

  // Scheduler addresses: the ConfigMap's and each container's effective one.
  const checkAddress = (address, ns, where) => {
    const m = /^([a-z0-9.-]+):(\d+)$/.exec(address ?? "");
    if (!m) return errors.push(`${where}: scheduler address ${JSON.stringify(address)} is not host:port`);
    const parts = m[1].split(".");
    const svcNs = parts[1] ?? ns;
    if (parts.length > 2 && parts.slice(2).join(".") !== "svc" && parts.slice(2).join(".") !== "svc.cluster.local") {
      return errors.push(`${where}: scheduler address ${address} is not a Service name`);
    }
    const svc = services.find((s) => s.metadata.name === parts[0] && s.metadata.namespace === svcNs);
    if (!svc) return errors.push(`${where}: scheduler address ${address} names no Service (there are ${services.map((s) => s.metadata.name).join(", ")})`);
    const port = (svc.spec?.ports ?? []).find((p) => p.port === Number(m[2]));
    if (!port) return errors.push(`${where}: scheduler address ${address}: Service ${svc.metadata.name} has no port ${m[2]}`);
    const targets = (servicePods.get(svc) ?? []).filter((p) => runs(p, "taskgrid-scheduler"));
    if (targets.length === 0) return errors.push(`${where}: scheduler address ${address}: Service ${svc.metadata.name} does not select the scheduler`);
    for (const p of targets) {
      const hit = portOf(p, port.targetPort ?? port.port);
      if (!hit || hit.container.binaryName !== "taskgrid-scheduler" || !hit.container.grpcPorts.has(hit.port)) {
        errors.push(`${where}: scheduler address ${address} reaches port ${hit?.port ?? "(none)"} of the scheduler pod, not its gRPC port ${[...p.containers[0].grpcPorts]}`);
      }
    }
  };
  for (const cm of docs.filter((d) => d.kind === "ConfigMap" && d.data?.TASKGRID_SCHEDULER_ADDRESS !== undefined)) {
    checkAddress(cm.data.TASKGRID_SCHEDULER_ADDRESS, cm.metadata.namespace, `ConfigMap/${cm.metadata.name}`);
  }
  for (const p of pods) {
    for (const c of p.containers) {
      if (c.schedulerAddress !== undefined) checkAddress(c.schedulerAddress, p.ns, `${p.workload.kind}/${p.workload.metadata.name} (${c.binaryName})`);
    }
  }

  // Autoscalers, disruption budgets, monitors.
  for (const h of docs.filter((d) => d.kind === "HorizontalPodAutoscaler")) {
    const where = `HorizontalPodAutoscaler/${h.metadata.name}`;
    const ref = h.spec?.scaleTargetRef ?? {};
    const target = pods.find((p) => p.workload.kind === ref.kind && p.workload.metadata.name === ref.name && p.ns === h.metadata.namespace);
    if (!target) {
      errors.push(`${where}: scaleTargetRef ${ref.kind}/${ref.name} does not exist`);
      continue;
    }
    if (runs(target, "taskgrid-scheduler")) errors.push(`${where}: the scheduler cannot be scaled`);
    if ((h.spec.minReplicas ?? 1) > h.spec.maxReplicas) errors.push(`${where}: minReplicas > maxReplicas`);
    if (target.workload.spec.replicas !== undefined) errors.push(`${where}: ${ref.name} also sets replicas, which every apply would reset`);
    for (const m of h.spec.metrics ?? []) {
      const r = m.resource?.name;
      if (r && target.spec.containers?.some((c) => c.resources?.requests?.[r] === undefined)) errors.push(`${where}: scales on ${r} but ${ref.name} has containers without a ${r} request`);
    }
  }
  for (const b of docs.filter((d) => d.kind === "PodDisruptionBudget")) {
    if (!pods.some((p) => p.ns === b.metadata.namespace && matches(selectorOf(b.spec?.selector), p.labels))) errors.push(`PodDisruptionBudget/${b.metadata.name}: selector matches no pod template`);
  }
  for (const m of docs.filter((d) => d.kind === "ServiceMonitor")) {
    const where = `ServiceMonitor/${m.metadata.name}`;
    const selected = services.filter((s) => s.metadata.namespace === m.metadata.namespace && matches(selectorOf(m.spec?.selector), s.metadata.labels));
    if (selected.length === 0) errors.push(`${where}: selector matches no Service`);
    for (const e of m.spec?.endpoints ?? []) {
      for (const s of selected) {
        const sp = (s.spec.ports ?? []).find((p) => p.name === e.port);
        if (!sp) {
          errors.push(`${where}: Service ${s.metadata.name} has no port named ${e.port}`);
          continue;
        }
        for (const p of servicePods.get(s) ?? []) checkScrape(portOf(p, sp.targetPort ?? sp.port), `${where} -> ${s.metadata.name}:${e.port}`, errors);
      }
    }
  }
  for (const m of docs.filter((d) => d.kind === "PodMonitor")) {
    const where = `PodMonitor/${m.metadata.name}`;
    const selected = pods.filter((p) => p.ns === m.metadata.namespace && matches(selectorOf(m.spec?.selector), p.labels));
    if (selected.length === 0) errors.push(`${where}: selector matches no pod template`);
    for (const e of m.spec?.podMetricsEndpoints ?? []) {
      for (const p of selected) checkScrape(portOf(p, e.port), `${where} -> ${p.workload.metadata.name}:${e.port}`, errors);
    }
  }
  return { pods, workers };
}

// Prometheus must scrape a metrics or HTTP port, never a gRPC one.
function checkScrape(hit, where, errors) {
  if (!hit) return errors.push(`${where}: no such container port`);
  const flag = [...hit.container.portFlags].find(([, n]) => n === hit.port)?.[0];
  if (flag !== "metrics-port" && flag !== "http-port") errors.push(`${where}: scrapes --${flag}=${hit.port}, which does not serve /metrics`);
}

function checkPodVolumes(p, ctx, errors) {
  const where = `${p.workload.kind}/${p.workload.metadata.name}`;
  const names = new Set((p.spec.volumes ?? []).map((v) => v.name));
  for (const c of p.spec.containers ?? []) {
    for (const m of c.volumeMounts ?? []) {
      if (!names.has(m.name)) errors.push(`${where}/${c.name}: volumeMount ${m.name} has no volume`);
    }
  }
  for (const v of p.spec.volumes ?? []) {
    const src = v.secret ? ["Secret", v.secret.secretName, v.secret] : v.configMap ? ["ConfigMap", v.configMap.name, v.configMap] : null;
    if (!src) continue;
    if (!ctx.find(src[0], src[1], p.ns) && !src[2].optional) errors.push(`${where}: volume ${v.name} refers to ${src[0]} ${src[1]}, which does not exist`);
    const mode = src[2].defaultMode ?? 0o644;
    if ((mode & 0o004) === 0 && p.spec.securityContext?.fsGroup === undefined) {
      errors.push(`${where}: volume ${v.name} (mode 0${mode.toString(8)}) is unreadable by the non-root user without a pod fsGroup`);
    }
  }
}
