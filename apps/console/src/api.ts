import { useEffect, useState } from 'preact/hooks';

/** A refusal or failure from the API, with Cyborg's `error_message` when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';

/** The double-submitted CSRF value from `GET /console/session`, echoed on sign-in and sign-out. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

const BASE_HEADERS = { Accept: 'application/json', 'OpenStack-API-Version': 'accelerator latest' };

/** One call to the API on this origin; the session cookie goes along, never anything else's. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { ...BASE_HEADERS };
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  if (init.method && init.method !== 'GET') headers['X-Console-CSRF'] = csrfToken;
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, errorMessageOf(text, response.status));
  return JSON.parse(text) as T;
}

/** Cyborg wraps its message as `{"faultstring": ...}` inside `error_message`; show the words. */
function errorMessageOf(text: string, status: number): string {
  try {
    const body = JSON.parse(text) as { error_message?: string };
    const message = body.error_message ?? text;
    try {
      const inner = JSON.parse(message) as { faultstring?: string };
      return inner.faultstring ?? message;
    } catch {
      return message;
    }
  } catch {
    return `the API answered ${status}`;
  }
}

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/** Loads `path` (null: nothing yet) and again whenever it changes or `reload` is called. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>({
    data: null,
    error: null,
    loading: path !== null,
  });
  const [round, setRound] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    api<T>(path)
      .then((data) => current && setState({ data, error: null, loading: false }))
      .catch(
        (error: unknown) =>
          current &&
          setState({
            data: null,
            error: error instanceof ApiError ? error : new ApiError(0, String(error)),
            loading: false,
          }),
      );
    return () => {
      current = false;
    };
  }, [path, round]);
  return { ...state, reload: () => setRound((r) => r + 1) };
}

export const q = (params: Record<string, string | number | undefined | null>): string => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}`;
};
