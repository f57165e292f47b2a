import type { BindRecord, BindReport } from '../types';

const W = 560;
const H = 200;
const PAD = { left: 44, right: 12, top: 12, bottom: 36 };

/** How long binds took to reach Bound: a histogram over the period's binds, with p50 and p90 marked. */
export function LatencyHistogram({ binds, summary }: { binds: BindRecord[]; summary: BindReport['summary'] }) {
  const latencies = binds.filter((b) => b.outcome === 'bound' && b.duration_ms !== null).map((b) => b.duration_ms!);
  if (latencies.length === 0) return <p class="muted">No bind reached Bound in this period.</p>;
  const max = Math.max(...latencies, 1);
  const bucketCount = Math.min(24, Math.max(6, Math.ceil(Math.sqrt(latencies.length))));
  const width = niceStep(max / bucketCount);
  const buckets = Array.from({ length: Math.ceil((max + 1) / width) }, (_, i) => ({
    from: i * width,
    count: latencies.filter((l) => l >= i * width && l < (i + 1) * width).length,
  }));
  const top = Math.max(...buckets.map((b) => b.count));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const bw = plotW / buckets.length;
  const xOf = (ms: number) => PAD.left + (ms / (buckets.length * width)) * plotW;
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="bind latency histogram">
      <Axes plotH={plotH} top={top} />
      {buckets.map((b, i) => {
        const h = (b.count / top) * plotH;
        return (
          <rect
            key={i}
            class="bar"
            x={PAD.left + i * bw + 1}
            y={PAD.top + plotH - h}
            width={Math.max(1, bw - 2)}
            height={h}
          >
            <title>{`${b.from}–${b.from + width} ms: ${b.count} bind(s)`}</title>
          </rect>
        );
      })}
      {summary.latency_ms
        ? (['p50', 'p90'] as const).map((p) => (
            <g key={p} class="marker">
              <line
                x1={xOf(summary.latency_ms![p])}
                x2={xOf(summary.latency_ms![p])}
                y1={PAD.top}
                y2={PAD.top + plotH}
              />
              <text
                x={xOf(summary.latency_ms![p]) + (xOf(summary.latency_ms![p]) > W - 90 ? -3 : 3)}
                y={PAD.top + (p === 'p50' ? 10 : 24)}
                text-anchor={xOf(summary.latency_ms![p]) > W - 90 ? 'end' : 'start'}
              >
                {p} {summary.latency_ms![p]} ms
              </text>
            </g>
          ))
        : null}
      {[0, Math.round(buckets.length / 2), buckets.length].map((i) => (
        <text key={i} class="tick" x={PAD.left + i * bw} y={H - PAD.bottom + 16} text-anchor="middle">
          {i * width} ms
        </text>
      ))}
      <text class="axis-title" x={PAD.left + plotW / 2} y={H - 4} text-anchor="middle">
        BindStarted → Bound
      </text>
    </svg>
  );
}

/** Binds ended per minute, stacked by outcome. */
export function ThroughputChart({ throughput }: { throughput: BindReport['throughput'] }) {
  if (throughput.length === 0) return <p class="muted">No bind ended in this period.</p>;
  const first = new Date(throughput[0].minute).getTime();
  const last = new Date(throughput[throughput.length - 1].minute).getTime();
  const minutes = Math.max(1, Math.round((last - first) / 60_000) + 1);
  const byMinute = new Map(throughput.map((t) => [Math.round((new Date(t.minute).getTime() - first) / 60_000), t]));
  const top = Math.max(...throughput.map((t) => t.bound + t.failed + t.interrupted), 1);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const bw = plotW / minutes;
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="binds per minute">
      <Axes plotH={plotH} top={top} />
      {Array.from({ length: minutes }, (_, i) => {
        const t = byMinute.get(i);
        if (!t) return null;
        let y = PAD.top + plotH;
        return (
          <g key={i}>
            <title>{`${t.minute.slice(11, 16)}Z: ${t.bound} bound, ${t.failed} failed, ${t.interrupted} interrupted`}</title>
            {(['bound', 'failed', 'interrupted'] as const).map((outcome) => {
              const h = (t[outcome] / top) * plotH;
              y -= h;
              return h > 0 ? (
                <rect
                  key={outcome}
                  class={`bar bar-${outcome}`}
                  x={PAD.left + i * bw + 1}
                  y={y}
                  width={Math.max(1, bw - 2)}
                  height={h}
                />
              ) : null;
            })}
          </g>
        );
      })}
      <text class="tick" x={PAD.left} y={H - PAD.bottom + 16}>
        {throughput[0].minute.slice(11, 16)}Z
      </text>
      <text class="tick" x={W - PAD.right} y={H - PAD.bottom + 16} text-anchor="end">
        {throughput[throughput.length - 1].minute.slice(11, 16)}Z
      </text>
      <text class="axis-title" x={PAD.left + plotW / 2} y={H - 4} text-anchor="middle">
        binds ended per minute
      </text>
    </svg>
  );
}

function Axes({ plotH, top }: { plotH: number; top: number }) {
  return (
    <g class="axes">
      <line x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={PAD.top + plotH} />
      <line x1={PAD.left} x2={W - PAD.right} y1={PAD.top + plotH} y2={PAD.top + plotH} />
      <text class="tick" x={PAD.left - 6} y={PAD.top + 8} text-anchor="end">
        {top}
      </text>
      <text class="tick" x={PAD.left - 6} y={PAD.top + plotH} text-anchor="end">
        0
      </text>
    </g>
  );
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  const n = raw / power;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * power;
}
