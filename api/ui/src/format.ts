// How numbers, sizes, times and durations read in the UI.

const integer = new Intl.NumberFormat("en-US");
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

/** 1,234,567 */
export function count(n: number | undefined | null): string {
  return n === undefined || n === null ? "–" : integer.format(n);
}

/** 1.2M */
export function short(n: number | undefined | null): string {
  return n === undefined || n === null ? "–" : compact.format(n);
}

/** 12.3k rows/s */
export function rate(n: number | undefined | null, unit = "rows/s"): string {
  return n === undefined || n === null ? "–" : `${compact.format(n)} ${unit}`;
}

/** 512 MiB */
export function bytes(n: number | undefined | null): string {
  if (n === undefined || n === null) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 || unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** 1.2 s, 3 min 4 s, 2 h 5 min */
export function duration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Milliseconds between a run's start and its end (or now while it runs). */
export function elapsed(started: string, finished?: string, now = Date.now()): number {
  const end = finished ? Date.parse(finished) : now;
  return Math.max(0, end - Date.parse(started));
}

/** 2026-12-07 22:04:05 (local time) */
export function time(iso: string | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(
    d.getMinutes(),
  )}:${pad(d.getSeconds())}`;
}

/** 3 min ago */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}
