/** A JSON call to the API, as Nova or an operator makes it. */
export interface Answer<T> {
  status: number;
  body: T;
  text: string;
}

export async function http<T = unknown>(
  api: string,
  method: string,
  path: string,
  options: { json?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(`${api}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T, text };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
