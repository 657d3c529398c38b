// Checks that a taskgrid container is wired the way its binary works: every
// argument and TASKGRID_* variable is a real flag of that binary, ports and
// probes match the ports the flags make it listen on, path flags point into
// mounted volumes, and the container is locked down (non-root, read-only
// root, no privilege escalation, no capabilities, requests and limits).
import path from "node:path";
import { envName } from "./sources.mjs";
import { parseByteSize, parseQuantity } from "./quantities.mjs";

const GRPC_PORT_FLAGS = new Set(["port", "grpc-port"]);
const isPortFlag = (f) => f === "port" || f.endsWith("-port");

// Flags given on the command line: Map flag -> value, plus positionals.
function parseArgs(args, binary, where, errors) {
  const values = new Map();
  const positional = [];
  for (let i = 0; i < args.length; i++) {
    const arg = String(args[i]);
    if (!arg.startsWith("-") || arg.length < 2) {
      positional.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = (eq < 0 ? body : body.slice(0, eq)).replace(/_/g, "-");
    if (binary.booleans.has(name)) {
      values.set(name, eq < 0 ? "true" : body.slice(eq + 1));
    } else if (binary.flags.has(name)) {
      if (eq < 0 && i + 1 >= args.length) errors.push(`${where}: flag --${name} has no value`);
      values.set(name, eq < 0 ? String(args[++i]) : body.slice(eq + 1));
    } else {
      errors.push(`${where}: unknown flag ${arg.split("=")[0]} (the binary accepts ${[...binary.flags].map((f) => "--" + f).join(" ")})`);
    }
  }
  return { values, positional };
}

// The value an env var will have in the pod, or a symbolic one
// ("fieldRef:status.podIP"); undefined when it cannot be known here.
function resolveEnv(env, ctx, where, errors) {
  if (env.value !== undefined) return String(env.value);
  const from = env.valueFrom ?? {};
  if (from.fieldRef) return `fieldRef:${from.fieldRef.fieldPath}`;
  const ref = from.configMapKeyRef ?? from.secretKeyRef;
  if (ref) {
    const kind = from.configMapKeyRef ? "ConfigMap" : "Secret";
    const obj = ctx.find(kind, ref.name);
    const data = obj ? { ...(obj.data ?? {}), ...(obj.stringData ?? {}) } : undefined;
    if (!data || !(ref.key in data)) {
      if (!ref.optional) errors.push(`${where}: env ${env.name} refers to ${kind} ${ref.name} key ${ref.key}, which does not exist`);
      return undefined;
    }
    return kind === "Secret" && obj.data?.[ref.key] !== undefined
      ? Buffer.from(obj.data[ref.key], "base64").toString()
      : String(data[ref.key]);
  }
  return undefined;
}

function checkSecurity(pod, c, where, errors) {
  const podSc = pod.securityContext ?? {};
  const sc = c.securityContext ?? {};
  if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) errors.push(`${where}: runAsNonRoot is not true`);
  if ((sc.runAsUser ?? podSc.runAsUser) === 0) errors.push(`${where}: runs as user 0`);
  if (sc.allowPrivilegeEscalation !== false) errors.push(`${where}: allowPrivilegeEscalation is not false`);
  if (sc.readOnlyRootFilesystem !== true) errors.push(`${where}: readOnlyRootFilesystem is not true`);
  if (sc.privileged === true) errors.push(`${where}: privileged`);
  if (!(sc.capabilities?.drop ?? []).includes("ALL")) errors.push(`${where}: capabilities do not drop ALL`);
  if ((sc.capabilities?.add ?? []).length > 0) errors.push(`${where}: adds capabilities ${sc.capabilities.add}`);
  for (const r of ["cpu", "memory"]) {
    const req = c.resources?.requests?.[r];
    const lim = c.resources?.limits?.[r];
    if (req === undefined || lim === undefined) {
      errors.push(`${where}: resources.requests.${r} and resources.limits.${r} must both be set`);
    } else if (parseQuantity(req) > parseQuantity(lim)) {
      errors.push(`${where}: ${r} request ${req} exceeds its limit ${lim}`);
    }
  }
}

// A path flag must lie in a mounted volume (the root filesystem is read-only);
// in a Secret/ConfigMap volume it must name one of its keys.
function checkPathFlag(flag, value, pod, c, ctx, where, errors) {
  const mounts = (c.volumeMounts ?? []).filter((m) => value === m.mountPath || value.startsWith(m.mountPath.replace(/\/$/, "") + "/"));
  mounts.sort((a, b) => b.mountPath.length - a.mountPath.length);
  if (mounts.length === 0) {
    errors.push(`${where}: --${flag}=${value} is not inside any volume mount (the root filesystem is read-only)`);
    return;
  }
  const mount = mounts[0];
  const volume = (pod.volumes ?? []).find((v) => v.name === mount.name);
  if (!volume) return; // reported by checkPodVolumes (topology.mjs)
  const source = volume.secret ?? volume.configMap;
  if (flag === "local-directory") {
    if (mount.readOnly || source) errors.push(`${where}: --local-directory=${value} must be a writable volume, not ${mount.name}`);
    return;
  }
  if (source) {
    const kind = volume.secret ? "Secret" : "ConfigMap";
    const obj = ctx.find(kind, volume.secret ? source.secretName : source.name);
    const relative = path.posix.relative(mount.mountPath, value);
    const files = source.items ? source.items.map((i) => i.path) : Object.keys({ ...(obj?.data ?? {}), ...(obj?.stringData ?? {}) });
    if (obj && !files.includes(relative)) {
      errors.push(`${where}: --${flag}=${value}: ${kind} ${obj.metadata.name} mounted at ${mount.mountPath} has no file ${relative} (it has ${files.join(", ")})`);
    }
  }
}

// Returns what the rest of the checks need to know about the container:
// its binary, effective flag values and declared ports.
export function checkContainer(pod, c, ctx, where, errors) {
  const command = [...(c.command ?? []), ...(c.args ?? [])];
  const binaryName = path.posix.basename(String(command[0] ?? ""));
  const binary = ctx.binaries.get(binaryName);
  if (!binary) {
    errors.push(`${where}: command ${JSON.stringify(command[0])} is not a taskgrid binary (${[...ctx.binaries.keys()].join(", ")}); set command explicitly`);
    return null;
  }
  checkSecurity(pod, c, where, errors);
  const { values: argValues, positional } = parseArgs(command.slice(1), binary, where, errors);

  // Environment: TASKGRID_* must be a flag of this binary (or the scheduler
  // address it resolves); a flag set twice is a configuration trap.
  const envValues = new Map();
  const allowed = new Map([...binary.flags, ...binary.booleans].map((f) => [envName(f), f]));
  if (binary.takesSchedulerAddress) allowed.set("TASKGRID_SCHEDULER_ADDRESS", "scheduler-address");
  const envList = [...(c.env ?? [])];
  for (const src of c.envFrom ?? []) {
    const ref = src.configMapRef ?? src.secretRef;
    const obj = ref && ctx.find(src.configMapRef ? "ConfigMap" : "Secret", ref.name);
    if (!obj) {
      errors.push(`${where}: envFrom refers to ${ref?.name}, which does not exist`);
      continue;
    }
    for (const [k, v] of Object.entries({ ...(obj.data ?? {}), ...(obj.stringData ?? {}) })) envList.push({ name: (src.prefix ?? "") + k, value: v });
  }
  for (const env of envList) {
    if (!env.name.startsWith("TASKGRID_")) continue;
    const flag = allowed.get(env.name);
    if (!flag) {
      errors.push(`${where}: env ${env.name} is not TASKGRID_<FLAG> of a ${binaryName} flag (valid: ${[...allowed.keys()].join(", ")})`);
      continue;
    }
    if (argValues.has(flag)) errors.push(`${where}: --${flag} is set both as an argument and as ${env.name}`);
    envValues.set(flag, resolveEnv(env, ctx, where, errors));
  }
  const value = (flag) => (argValues.has(flag) ? argValues.get(flag) : envValues.has(flag) ? envValues.get(flag) : binary.defaults.get(flag));

  // Ports: each pinned port flag is declared, each declared port is one the
  // binary listens on, and probes hit a gRPC port with the default health
  // service name.
  const portFlags = new Map();
  for (const flag of binary.flags) {
    if (!isPortFlag(flag)) continue;
    const v = value(flag);
    if (v === "-1") continue; // disabled
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0 || n > 65535) {
      errors.push(`${where}: --${flag} is ${v === undefined ? "unset" : v} (0 picks a random port): pin it so Services, probes and monitors can reach it`);
      continue;
    }
    portFlags.set(flag, n);
  }
  const declared = new Map((c.ports ?? []).map((p) => [p.containerPort, p]));
  const byName = new Map((c.ports ?? []).filter((p) => p.name).map((p) => [p.name, p.containerPort]));
  for (const [flag, n] of portFlags) {
    if (!declared.has(n)) errors.push(`${where}: --${flag}=${n} is not declared in ports`);
  }
  const listening = new Set(portFlags.values());
  for (const p of c.ports ?? []) {
    if (!listening.has(p.containerPort)) errors.push(`${where}: port ${p.name ?? ""} ${p.containerPort} is not one ${binaryName} listens on (${[...portFlags].map(([f, n]) => `--${f}=${n}`).join(" ")})`);
  }
  const grpcPorts = new Set([...portFlags].filter(([f]) => GRPC_PORT_FLAGS.has(f)).map(([, n]) => n));
  const httpPorts = new Set([...portFlags].filter(([f]) => !GRPC_PORT_FLAGS.has(f)).map(([, n]) => n));
  const resolvePort = (p) => (typeof p === "string" ? byName.get(p) : p);
  let grpcProbes = 0;
  for (const kind of ["readinessProbe", "livenessProbe", "startupProbe"]) {
    const probe = c[kind];
    if (!probe) {
      if (kind !== "startupProbe") errors.push(`${where}: no ${kind}`);
      continue;
    }
    if (probe.grpc) {
      grpcProbes++;
      if (!grpcPorts.has(probe.grpc.port)) errors.push(`${where}: ${kind} checks gRPC port ${probe.grpc.port}, but the gRPC server listens on ${[...grpcPorts].join(", ") || "no pinned port"}`);
      if ((probe.grpc.service ?? "") !== "") errors.push(`${where}: ${kind} asks grpc.health.v1 for service "${probe.grpc.service}"; the servers report health for "" only`);
    } else if (probe.httpGet) {
      if (!httpPorts.has(resolvePort(probe.httpGet.port))) errors.push(`${where}: ${kind} sends HTTP to port ${probe.httpGet.port}, not an HTTP port of ${binaryName}`);
    } else if (probe.tcpSocket) {
      if (!listening.has(resolvePort(probe.tcpSocket.port))) errors.push(`${where}: ${kind} connects to port ${probe.tcpSocket.port}, which ${binaryName} does not listen on`);
    } else {
      errors.push(`${where}: ${kind} must be a grpc, httpGet or tcpSocket probe`);
    }
  }
  if (grpcProbes === 0) errors.push(`${where}: no grpc.health.v1 probe`);

  for (const flag of binary.flags) {
    const v = value(flag);
    if (typeof v === "string" && v.startsWith("/")) checkPathFlag(flag, v, pod, c, ctx, where, errors);
  }
  if (binaryName === "taskgrid-worker") {
    if (value("host") !== "fieldRef:status.podIP") errors.push(`${where}: workers must bind to and advertise their pod IP (TASKGRID_HOST from fieldRef status.podIP), got ${value("host")}`);
    const limit = parseByteSize(value("memory-limit") ?? "");
    const containerLimit = parseQuantity(c.resources?.limits?.memory ?? "");
    if (!(limit > 0)) errors.push(`${where}: --memory-limit must be set to a size (auto would read the node's memory, not the container's)`);
    else if (limit > containerLimit) errors.push(`${where}: --memory-limit ${value("memory-limit")} exceeds the container memory limit ${c.resources?.limits?.memory}`);
    const nthreads = Number(value("nthreads"));
    if (!(Number.isInteger(nthreads) && nthreads >= 1)) errors.push(`${where}: --nthreads must be a positive integer, got ${value("nthreads")}`);
  }
  if (positional.length > (binary.takesSchedulerAddress ? 1 : 0)) errors.push(`${where}: unexpected arguments ${positional.join(" ")}`);
  const schedulerAddress = binary.takesSchedulerAddress
    ? positional[0] ?? envValues.get("scheduler-address") ?? "127.0.0.1:8786"
    : undefined;
  return { binaryName, portFlags, grpcPorts, byName, schedulerAddress };
}
