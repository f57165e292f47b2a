import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api';

const STATE_TONES: Record<string, string> = {
  Bound: 'ok',
  BindStarted: 'busy',
  Initial: 'idle',
  Unbound: 'idle',
  BindFailed: 'bad',
  Deleting: 'busy',
  up: 'ok',
  down: 'bad',
  enabled: 'ok',
  maintaining: 'warn',
  bound: 'ok',
  failed: 'bad',
  interrupted: 'warn',
  in_progress: 'busy',
};

export function Badge({ value, tone }: { value: string; tone?: string }) {
  return <span class={`badge badge-${tone ?? STATE_TONES[value] ?? 'idle'}`}>{value}</span>;
}

export function Panel({
  title,
  actions,
  children,
}: {
  title: string;
  actions?: ComponentChildren;
  children: ComponentChildren;
}) {
  return (
    <section class="panel">
      <header class="panel-head">
        <h2>{title}</h2>
        {actions ? <div class="panel-actions">{actions}</div> : null}
      </header>
      <div class="panel-body">{children}</div>
    </section>
  );
}

export function Failure({ error }: { error: ApiError }) {
  const hint =
    error.status === 403
      ? 'Your role may not see this.'
      : error.status === 401
        ? 'Sign in again.'
        : error.status === 404
          ? 'It does not exist, or belongs to another project.'
          : '';
  return (
    <div class="failure" role="alert">
      <strong>{error.status ? `${error.status}: ` : ''}</strong>
      {error.message} {hint}
    </div>
  );
}

export function Loading() {
  return <div class="muted loading">Loading…</div>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="muted empty">{children}</div>;
}

/** A uuid shortened for tables, whole on hover. */
export function Id({ value }: { value: string | null | undefined }) {
  if (!value) return <span class="muted">–</span>;
  return (
    <code class="id" title={value}>
      {value.length > 13 ? `${value.slice(0, 8)}…` : value}
    </code>
  );
}

export function time(value: string | null | undefined): string {
  if (!value) return '–';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

export function ago(value: string | null | undefined, now = Date.now()): string {
  if (!value) return 'never';
  const seconds = Math.round((now - new Date(value).getTime()) / 1000);
  if (seconds < 60) return `${Math.max(0, seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export function KeyValues({ values }: { values: Record<string, unknown> }) {
  return (
    <dl class="kv">
      {Object.entries(values).map(([key, value]) => (
        <div class="kv-row" key={key}>
          <dt>{key}</dt>
          <dd>{show(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

export function show(value: unknown): string {
  if (value === null || value === undefined || value === '') return '–';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
