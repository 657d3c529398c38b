// Kubernetes quantities ("500m", "4Gi") and taskgrid byte sizes ("3GiB",
// "512MB", "1e9"), as numbers, for comparing limits with flags.
const BINARY = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

export function parseQuantity(q) {
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([A-Za-z]*)$/.exec(String(q).trim());
  if (!m) return NaN;
  const unit = m[2];
  const scale = BINARY[unit] ?? DECIMAL[unit];
  return scale === undefined ? NaN : Number(m[1]) * scale;
}

export function parseByteSize(text) {
  const m = /^([0-9.]+(?:[eE][+-]?\d+)?)\s*([KMGTP]i?B|B)?$/i.exec(String(text).trim());
  if (!m) return NaN;
  const unit = (m[2] ?? "B").toUpperCase();
  const scale = unit.endsWith("IB")
    ? 2 ** (10 * "KMGTP".indexOf(unit[0]) + 10)
    : unit === "B" ? 1 : 10 ** (3 * "KMGTP".indexOf(unit[0]) + 3);
  return Number(m[1]) * scale;
}
