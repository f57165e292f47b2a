import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, setCsrfToken } from './api';
import { href, useRoute } from './router';
import type { Session } from './types';
import { Failure, Loading } from './components/ui';
import { ArqPage, ArqsPage, DevicePage, HostHistoryPage } from './pages/arqs';
import { EventsPage } from './pages/events';
import { HostPage, HostsPage } from './pages/hosts';
import { StatusPage } from './pages/status';
import './style.css';

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const load = () =>
    api<Session>('/console/session')
      .then((s) => {
        setCsrfToken(s.csrf_token);
        setSession(s);
      })
      .catch((e: unknown) => setError(e instanceof ApiError ? e : new ApiError(0, String(e))));
  useEffect(() => void load(), []);
  if (error) return <Failure error={error} />;
  if (!session) return <Loading />;
  if (!session.signed_in) return <SignIn onSignedIn={(s) => setSession(s)} />;
  return <Shell session={session} onSignedOut={() => void load()} />;
}

function Shell({ session, onSignedOut }: { session: Session; onSignedOut: () => void }) {
  const route = useRoute();
  const [section, id, sub] = route;
  const nav = session.admin
    ? [
        ['hosts', 'Hosts'],
        ['arqs', 'Accelerator requests'],
        ['events', 'Event log'],
        ['status', 'Status'],
      ]
    : [
        ['arqs', 'Accelerator requests'],
        ['events', 'Event log'],
      ];
  const current = section ?? nav[0][0];
  let page;
  if (current === 'hosts' && id && sub === 'history') page = <HostHistoryPage hostname={id} />;
  else if (current === 'hosts' && id) page = <HostPage hostname={id} />;
  else if (current === 'hosts') page = <HostsPage />;
  else if (current === 'arqs' && id) page = <ArqPage uuid={id} />;
  else if (current === 'arqs') page = <ArqsPage />;
  else if (current === 'devices' && id) page = <DevicePage uuid={id} />;
  else if (current === 'events') page = <EventsPage />;
  else if (current === 'status') page = <StatusPage />;
  else
    page = (
      <p>
        Nothing here. <a href={href(nav[0][0])}>Back</a>
      </p>
    );
  const who = session.user?.name ?? session.user?.id ?? 'operator';
  return (
    <div class="shell">
      <header class="topbar">
        <div class="brand">
          <span class="brand-mark">◆</span> Cyborg <span class="muted">console</span>
        </div>
        <nav>
          {nav.map(([key, label]) => (
            <a
              key={key}
              href={href(key)}
              class={current === key || (current === 'devices' && key === 'hosts') ? 'active' : ''}
            >
              {label}
            </a>
          ))}
        </nav>
        <div class="identity" data-testid="identity">
          <span>
            {who}
            {session.project?.name ? <span class="muted"> @ {session.project.name}</span> : null}
          </span>
          <span class="role">
            {session.admin ? 'admin' : session.roles.filter((r) => r !== 'reader').join(', ') || 'reader'}
          </span>
          {session.auth_strategy === 'noauth' ? (
            <span class="role warn" title="AUTH_STRATEGY=noauth: identity comes from the request">
              noauth
            </span>
          ) : (
            <button type="button" onClick={() => void api('/console/session', { method: 'DELETE' }).then(onSignedOut)}>
              Sign out
            </button>
          )}
        </div>
      </header>
      <main class="content">{page}</main>
    </div>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [fields, setFields] = useState({ username: '', password: '', project_name: '', user_domain_name: 'Default' });
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (name: keyof typeof fields) => (e: Event) =>
    setFields({ ...fields, [name]: (e.target as HTMLInputElement).value });
  return (
    <div class="signin">
      <form
        class="signin-card"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          api<Session>('/console/session', {
            method: 'POST',
            body: { ...fields, project_domain_name: fields.user_domain_name },
          })
            .then((s) => {
              setCsrfToken(s.csrf_token);
              onSignedIn(s);
            })
            .catch((err: unknown) => setError(err instanceof ApiError ? err : new ApiError(0, String(err))))
            .finally(() => setBusy(false));
        }}
      >
        <div class="brand">
          <span class="brand-mark">◆</span> Cyborg <span class="muted">console</span>
        </div>
        <p class="muted">Sign in with your OpenStack (Keystone) account.</p>
        <label>
          <span>User</span>
          <input name="username" autocomplete="username" value={fields.username} onInput={set('username')} required />
        </label>
        <label>
          <span>Password</span>
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            value={fields.password}
            onInput={set('password')}
            required
          />
        </label>
        <label>
          <span>Project</span>
          <input name="project_name" value={fields.project_name} onInput={set('project_name')} />
        </label>
        <label>
          <span>Domain</span>
          <input name="user_domain_name" value={fields.user_domain_name} onInput={set('user_domain_name')} />
        </label>
        {error ? <Failure error={error} /> : null}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
