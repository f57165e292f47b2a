/** One measured figure beside the baseline measured in the same run. */
export interface Figure {
  /** Stable dotted name, e.g. `storage.append.b1.w8`. */
  name: string;
  value: number;
  unit: string;
  baseline: number;
  /** When the baseline's unit differs from the figure's. */
  baselineUnit?: string;
  /** value / baseline (for rates: higher is better). */
  ratio: number;
  /** What counts as good enough: a minimum ratio and/or a minimum value. */
  goal?: { ratio?: number; value?: number };
  note?: string;
}

export function figure(f: Omit<Figure, 'ratio'> & { ratio?: number }): Figure {
  const ratio = f.ratio ?? (f.baseline > 0 ? f.value / f.baseline : NaN);
  return { ...f, ratio: round(ratio, 4), value: round(f.value, 1), baseline: round(f.baseline, 1) };
}

/** true / false when the figure has a goal, null when it has none. */
export function goalMet(f: Figure): boolean | null {
  if (!f.goal) return null;
  if (f.goal.ratio !== undefined && !(f.ratio >= f.goal.ratio)) return false;
  if (f.goal.value !== undefined && !(f.value >= f.goal.value)) return false;
  return true;
}

function round(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}
