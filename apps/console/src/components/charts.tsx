import type { LatencyPoint, RatePoint } from '../bind-metrics';

const W = 560;
const H = 200;
const PAD = { left: 52, right: 12, top: 12, bottom: 36 };
const plotW = W - PAD.left - PAD.right;
const plotH = H - PAD.top - PAD.bottom;

/** The time axis: the window ending now, so a quiet system still shows where the samples are. */
interface Window {
  from: number;
  to: number;
}

const xOf = (window: Window, at: number) =>
  PAD.left + ((at - window.from) / Math.max(1, window.to - window.from)) * plotW;

/** Binds ended per second in each sampling interval, stacked by outcome. */
export function BindRateChart({ points, window }: { points: RatePoint[]; window: Window }) {
  if (points.length === 0) return <p class="muted">Waiting for a second sample…</p>;
  const top = niceCeiling(Math.max(...points.map((p) => p.bound + p.failed), 0.1));
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="bind rate">
      <Axes top={top} unit="/s" window={window} />
      {points.map((p) => {
        const x0 = Math.max(PAD.left, xOf(window, p.at - p.seconds * 1000));
        const width = Math.max(1, xOf(window, p.at) - x0 - 1);
        let y = PAD.top + plotH;
        return (
          <g key={p.at}>
            <title>{`${clock(p.at)}: ${rate(p.bound)} bound/s, ${rate(p.failed)} failed/s`}</title>
            {(['bound', 'failed'] as const).map((outcome) => {
              const h = (p[outcome] / top) * plotH;
              y -= h;
              return h > 0 ? (
                <rect key={outcome} class={`bar bar-${outcome}`} x={x0} y={y} width={width} height={h} />
              ) : null;
            })}
          </g>
        );
      })}
      <text class="axis-title" x={PAD.left + plotW / 2} y={H - 4} text-anchor="middle">
        binds ended per second (cyborg_binds_total)
      </text>
    </svg>
  );
}

const QUANTILES = ['p50', 'p95', 'p99'] as const;

/** p50, p95 and p99 of BindStarted → Bound over the last minute at each sample, from the histogram's buckets. */
export function BindLatencyChart({ points, window }: { points: LatencyPoint[]; window: Window }) {
  const values = points.flatMap((p) => QUANTILES.map((q) => p[q]).filter((v): v is number => v !== null));
  if (values.length === 0) return <p class="muted">No bind reached Bound since the console started sampling.</p>;
  const top = niceCeiling(Math.max(...values) * 1000);
  const yOf = (seconds: number) => PAD.top + plotH - ((seconds * 1000) / top) * plotH;
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="bind latency">
      <Axes top={top} unit=" ms" window={window} />
      {QUANTILES.map((q) => {
        // A gap where no bind ended in the window: the line breaks rather than inventing a value.
        const segments: string[][] = [[]];
        for (const p of points) {
          const v = p[q];
          if (v === null) segments.push([]);
          else segments[segments.length - 1].push(`${xOf(window, p.at).toFixed(1)},${yOf(v).toFixed(1)}`);
        }
        return (
          <g key={q} class={`line line-${q}`}>
            {segments
              .filter((s) => s.length > 0)
              .map((s, i) =>
                s.length === 1 ? (
                  <circle key={i} cx={s[0].split(',')[0]} cy={s[0].split(',')[1]} r="2.5" />
                ) : (
                  <polyline key={i} points={s.join(' ')} />
                ),
              )}
          </g>
        );
      })}
      <g class="legend">
        {QUANTILES.map((q, i) => (
          <text key={q} class={`legend-${q}`} x={PAD.left + 8 + i * 44} y={PAD.top + 10}>
            {q}
          </text>
        ))}
      </g>
      <text class="axis-title" x={PAD.left + plotW / 2} y={H - 4} text-anchor="middle">
        BindStarted → Bound, last minute (cyborg_bind_duration_seconds)
      </text>
    </svg>
  );
}

function Axes({ top, unit, window }: { top: number; unit: string; window: Window }) {
  return (
    <g class="axes">
      <line x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={PAD.top + plotH} />
      <line x1={PAD.left} x2={W - PAD.right} y1={PAD.top + plotH} y2={PAD.top + plotH} />
      <text class="tick" x={PAD.left - 6} y={PAD.top + 8} text-anchor="end">
        {`${top}${unit}`}
      </text>
      <text class="tick" x={PAD.left - 6} y={PAD.top + plotH} text-anchor="end">
        0
      </text>
      <text class="tick" x={PAD.left} y={H - PAD.bottom + 16}>
        {clock(window.from)}
      </text>
      <text class="tick" x={W - PAD.right} y={H - PAD.bottom + 16} text-anchor="end">
        {clock(window.to)}
      </text>
    </g>
  );
}

const clock = (at: number) => new Date(at).toISOString().slice(11, 19) + 'Z';
const rate = (perSecond: number) => (perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(2));

/** The next 1, 2 or 5 × 10ⁿ at or above a value: a round top for an axis. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  const n = value / power;
  return Number(((n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * power).toPrecision(3));
}
