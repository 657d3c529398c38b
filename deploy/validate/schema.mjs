// Validates one Kubernetes object against the OpenAPI schema of its
// apiVersion/kind: the kubernetes-models classes for the built-in API, and
// @kubernetes-models/prometheus-operator for ServiceMonitor / PodMonitor.
// A kind with no model is an error, never a silent pass.
function modulePath(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  if (slash < 0) return `kubernetes-models/${apiVersion}/${kind}`;
  const group = apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  if (group === "monitoring.coreos.com") {
    return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  }
  return `kubernetes-models/${group}/${version}/${kind}`;
}

export async function schemaErrors(doc) {
  if (typeof doc?.apiVersion !== "string" || typeof doc?.kind !== "string") {
    return ["object without apiVersion/kind"];
  }
  let Model;
  try {
    Model = (await import(modulePath(doc.apiVersion, doc.kind)))[doc.kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== "function") return [`no schema known for ${doc.apiVersion} ${doc.kind}`];
  try {
    new Model(doc).validate();
    return [];
  } catch (e) {
    return String(e.message ?? e).split(/,\s(?=data\/)/).map((s) => s.trim());
  }
}
