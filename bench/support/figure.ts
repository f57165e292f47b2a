/** One measured figure beside the baseline measured in the same run. */
export interface Figure {
  /** Stable dotted name, e.g. `storage.append.b1.w8`. */
  name: string;
  value: number;
  unit: string;
  /** Null where the figure has no baseline (only a goal, or none). */
  baseline: number | null;
  /** When the baseline's unit differs from the figure's. */
  baselineUnit?: string;
  /** value / baseline (for rates higher is better; for latencies, calls and CPU lower is); null without a baseline. */
  ratio: number | null;
  /** What counts as good enough: minimum and/or maximum ratio and value. */
  goal?: { ratio?: number; value?: number; maxRatio?: number; maxValue?: number };
  note?: string;
}

export function figure(f: Omit<Figure, 'ratio'> & { ratio?: number | null }): Figure {
  const ratio = f.ratio ?? (f.baseline === null ? null : f.baseline > 0 ? f.value / f.baseline : NaN);
  return {
    ...f,
    ratio: ratio === null ? null : round(ratio, 4),
    value: round(f.value, f.value !== 0 && Math.abs(f.value) < 10 ? 3 : 1),
    baseline: f.baseline === null ? null : round(f.baseline, f.baseline !== 0 && Math.abs(f.baseline) < 10 ? 3 : 1),
  };
}

/** true / false when the figure has a goal, null when it has none. */
export function goalMet(f: Figure): boolean | null {
  if (!f.goal) return null;
  const { ratio, value, maxRatio, maxValue } = f.goal;
  if (ratio !== undefined && !(f.ratio !== null && f.ratio >= ratio)) return false;
  if (maxRatio !== undefined && !(f.ratio !== null && f.ratio <= maxRatio)) return false;
  if (value !== undefined && !(f.value >= value)) return false;
  if (maxValue !== undefined && !(f.value <= maxValue)) return false;
  return true;
}

function round(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}
