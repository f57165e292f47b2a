import { useState } from 'preact/hooks';
import { useApi } from '../api';
import type { History, HistoryEntry, StateAt } from '../types';
import { Failure, KeyValues, Loading, Panel, show, time } from './ui';

const TONE: Record<string, string> = {
  ArqBound: 'ok',
  ArqBindFailed: 'bad',
  ArqBindStarted: 'busy',
  ArqDeleted: 'idle',
  ArqUnbound: 'idle',
  DeviceDisabled: 'warn',
  DeviceRemoved: 'bad',
  HostDown: 'bad',
  HostUp: 'ok',
};

const who = (entry: HistoryEntry) =>
  entry.who.project_id && entry.who.user_id ? `${entry.who.user_id}@${entry.who.project_id}` : entry.who.actor;

/**
 * A history from the log as a timeline: a strip with one mark per event at
 * its time, and each event with who, what, when and why. Choosing an event
 * shows the state it left (`state_at` that event's log position).
 */
export function Timeline({ history, stateAtPath }: { history: History; stateAtPath: string }) {
  const [chosen, setChosen] = useState<number | null>(null);
  const entries = history.entries;
  return (
    <div class="timeline-layout">
      <div class="timeline-main">
        <Strip entries={entries} chosen={chosen} onChoose={setChosen} />
        <ol class="timeline" aria-label="history">
          {entries.map((entry) => (
            <li
              key={entry.event_id}
              class={`timeline-entry tone-${TONE[entry.type] ?? 'idle'}${chosen === entry.position ? ' chosen' : ''}`}
              data-position={entry.position}
            >
              <div class="timeline-dot" />
              <div class="timeline-card">
                <div class="timeline-head">
                  <span class="timeline-type">{entry.type}</span>
                  <span class="muted">#{entry.position}</span>
                  <time class="muted" dateTime={entry.at}>
                    {time(entry.at)}
                  </time>
                  <button type="button" class="link" onClick={() => setChosen(entry.position)}>
                    State at this moment
                  </button>
                </div>
                <div class="timeline-summary">{entry.summary}</div>
                <div class="timeline-meta">
                  <span>
                    by <strong>{who(entry)}</strong>
                  </span>
                  {entry.why.command ? <span>command {entry.why.command}</span> : null}
                  {entry.why.request_id ? <code class="muted">{entry.why.request_id}</code> : null}
                  {entry.why.reason ? <span class="reason">why: {entry.why.reason}</span> : null}
                </div>
                {Object.keys(entry.changes).length > 0 ? (
                  <table class="changes">
                    <tbody>
                      {Object.entries(entry.changes).map(([field, change]) => (
                        <tr key={field}>
                          <th>{field}</th>
                          <td class="muted">{show(change.from)}</td>
                          <td>→</td>
                          <td>{show(change.to)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                ) : null}
              </div>
            </li>
          ))}
        </ol>
      </div>
      <aside class="timeline-side">
        {chosen === null ? (
          <Panel title="State at a moment">
            <p class="muted">Choose an event to see the state it left, folded from the log up to that event.</p>
          </Panel>
        ) : (
          <StateAtPanel path={`${stateAtPath}?at=${chosen}`} />
        )}
      </aside>
    </div>
  );
}

function StateAtPanel({ path }: { path: string }) {
  const { data, error, loading } = useApi<StateAt>(path);
  return (
    <Panel title="State at this moment">
      {loading ? <Loading /> : null}
      {error ? <Failure error={error} /> : null}
      {data ? (
        <div class="state-at" data-testid="state-at">
          <p class="muted">
            {data.as_of
              ? `As left by ${data.as_of.type} (#${data.as_of.position}, ${time(data.as_of.occurred_at)})`
              : 'Before its first event'}
          </p>
          {data.exists && data.state ? <KeyValues values={flatState(data.state)} /> : <p>It did not exist then.</p>}
        </div>
      ) : null}
    </Panel>
  );
}

/** A host's state has lists; show their sizes rather than every element. */
function flatState(state: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(state).map(([k, v]) => [
      k,
      Array.isArray(v) && typeof v[0] === 'object' ? `${v.length} item(s)` : v,
    ]),
  );
}

function Strip({
  entries,
  chosen,
  onChoose,
}: {
  entries: HistoryEntry[];
  chosen: number | null;
  onChoose: (position: number) => void;
}) {
  if (entries.length === 0) return null;
  const times = entries.map((e) => new Date(e.at).getTime());
  const first = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - first);
  const width = 800;
  const x = (t: number) => 20 + ((t - first) / span) * (width - 40);
  return (
    <svg class="strip" viewBox={`0 0 ${width} 56`} role="img" aria-label="events over time">
      <line x1="20" x2={width - 20} y1="28" y2="28" class="strip-axis" />
      {entries.map((entry, i) => (
        <g
          key={entry.event_id}
          class={`strip-mark tone-${TONE[entry.type] ?? 'idle'}`}
          onClick={() => onChoose(entry.position)}
        >
          <title>{`${time(entry.at)} ${entry.type}: ${entry.summary}`}</title>
          <circle cx={x(times[i])} cy="28" r={chosen === entry.position ? 8 : 6} />
        </g>
      ))}
      <text x="20" y="52" class="strip-label">
        {time(entries[0].at)}
      </text>
      <text x={width - 20} y="52" text-anchor="end" class="strip-label">
        {time(entries[entries.length - 1].at)}
      </text>
    </svg>
  );
}
