import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, q } from '../api';
import { href } from '../router';
import type { AuditEvent } from '../types';
import { Failure, Panel, time } from '../components/ui';

/** The audit filters of `GET /v2/events`, as the form names them. */
const FILTERS = [
  ['type', 'Type', 'ArqBound,ArqBindFailed'],
  ['category', 'Category', 'arq, host, device_profile'],
  ['stream', 'Stream', 'arq-<uuid>, host-<name>'],
  ['hostname', 'Host', 'compute-1'],
  ['project_id', 'Project', 'project id'],
  ['user_id', 'User', 'user id'],
  ['request_id', 'Request id', 'req-…'],
  ['command_id', 'Command id', ''],
  ['since', 'Since', '2026-11-21T04:00:00Z'],
  ['until', 'Until', 'ISO 8601'],
] as const;

type Filters = Partial<Record<(typeof FILTERS)[number][0], string>>;

const KEEP = 1000;
const BACKLOG = 200;

const whoOf = (e: AuditEvent) =>
  e.who.user_id && e.who.project_id ? `${e.who.user_id}@${e.who.project_id}` : e.who.actor;

/** What an event is about, as a link: its ARQ or its host. */
function Subject({ event }: { event: AuditEvent }) {
  if (event.stream_id.startsWith('arq-')) {
    const uuid = event.stream_id.slice(4);
    return <a href={href('arqs', uuid)}>{event.stream_id.slice(0, 12)}…</a>;
  }
  if (event.stream_id.startsWith('host-')) {
    return <a href={href('hosts', event.stream_id.slice(5))}>{event.stream_id}</a>;
  }
  const short = event.stream_id.length > 24 ? `${event.stream_id.slice(0, 20)}…` : event.stream_id;
  return <span title={event.stream_id}>{short}</span>;
}

/**
 * The event log: the latest events matching the filters, then every new one
 * live (server-sent events from the log, scoped to what the caller may see),
 * or, paused, the log from its start page by page.
 */
export function EventsPage() {
  const [draft, setDraft] = useState<Filters>({});
  const [filters, setFilters] = useState<Filters>({});
  const [live, setLive] = useState(true);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [status, setStatus] = useState<'connecting' | 'live' | 'reconnecting' | 'paused'>('connecting');
  const [error, setError] = useState<ApiError | null>(null);
  const [nextMarker, setNextMarker] = useState<string | null>(null);
  const ready = useRef(false);

  useEffect(() => {
    setEvents([]);
    setError(null);
    setNextMarker(null);
    if (!live) {
      setStatus('paused');
      void page(filters, undefined);
      return;
    }
    ready.current = false;
    setStatus('connecting');
    const source = new EventSource(`/v2/events/stream${q({ ...filters, last: BACKLOG })}`);
    source.addEventListener('ready', () => {
      ready.current = true;
      setStatus('live');
    });
    source.addEventListener('event', (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as AuditEvent;
      setEvents((list) => [...list.slice(-(KEEP - 1)), event]);
      if (ready.current) setFresh((set) => new Set(set).add(event.event_id));
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // A refusal (400, 403) closes the stream for good: ask the REST API what it says.
        api(`/v2/events${q({ ...filters, limit: 1 })}`).catch((e: unknown) =>
          setError(e instanceof ApiError ? e : new ApiError(0, String(e))),
        );
        setStatus('paused');
      } else {
        setStatus('reconnecting');
      }
    };
    return () => source.close();
  }, [filters, live]);

  async function page(current: Filters, marker: string | undefined) {
    try {
      const answer = await api<{ events: AuditEvent[] }>(`/v2/events${q({ ...current, limit: BACKLOG, marker })}`);
      setEvents((list) => (marker ? [...list, ...answer.events] : answer.events));
      setNextMarker(answer.events.length === BACKLOG ? answer.events[answer.events.length - 1].event_id : null);
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, String(e)));
    }
  }

  const rows = live ? [...events].reverse() : events;
  return (
    <>
      <Panel title="Filters">
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            setFilters(Object.fromEntries(Object.entries(draft).filter(([, v]) => v && v.trim() !== '')));
          }}
        >
          {FILTERS.map(([name, label, placeholder]) => (
            <label key={name}>
              <span>{label}</span>
              <input
                name={name}
                value={draft[name] ?? ''}
                placeholder={placeholder}
                onInput={(e) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value })}
              />
            </label>
          ))}
          <div class="filter-actions">
            <button type="submit" class="primary">
              Apply
            </button>
            <button
              type="button"
              onClick={() => {
                setDraft({});
                setFilters({});
              }}
            >
              Clear
            </button>
          </div>
        </form>
      </Panel>
      <Panel
        title="Event log"
        actions={
          <>
            <span class={`live live-${status}`} data-testid="stream-status">
              {status === 'live' ? '● live' : status}
            </span>
            <label class="toggle">
              <input type="checkbox" checked={live} onChange={(e) => setLive((e.target as HTMLInputElement).checked)} />
              Follow live
            </label>
          </>
        }
      >
        {error ? <Failure error={error} /> : null}
        <table class="grid events" data-testid="events">
          <thead>
            <tr>
              <th class="num">#</th>
              <th>Occurred at</th>
              <th>Stream</th>
              <th>Type</th>
              <th>Who</th>
              <th>Command</th>
              <th>Summary</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr
                key={e.event_id}
                class={fresh.has(e.event_id) ? 'fresh' : ''}
                data-type={e.type}
                data-stream={e.stream_id}
              >
                <td class="num">{e.position}</td>
                <td class="nowrap">{time(e.occurred_at)}</td>
                <td>
                  <Subject event={e} />
                </td>
                <td>
                  <code>
                    {e.type}
                    {e.schema_version > 1 ? `/v${e.schema_version}` : ''}
                  </code>
                </td>
                <td>{whoOf(e)}</td>
                <td>{e.why.command ?? '–'}</td>
                <td class="summary">
                  {e.summary}
                  {e.why.reason ? <span class="reason"> — {e.why.reason}</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length === 0 && !error ? <p class="muted empty">No events match yet.</p> : null}
        {!live && nextMarker ? (
          <button type="button" onClick={() => void page(filters, nextMarker)}>
            Next {BACKLOG}
          </button>
        ) : null}
      </Panel>
    </>
  );
}
