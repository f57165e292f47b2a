import type { CyborgEvent } from '@cyborg/contracts';
import { randomUUID } from 'node:crypto';
import { Streams } from '@cyborg/contracts';
import { evolveHost, fold, type HostState, initialHostState } from '@cyborg/domain';
import type { EventStore } from '@cyborg/event-store';

/** Shared by the ARQ end-to-end files: HTTP helpers and reading a host stream. */
export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
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
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T, text };
}

/** The faultstring inside Cyborg's double-encoded error body. */
export function fault(answer: Answer): string {
  const { error_message } = answer.body as { error_message: string };
  return (JSON.parse(error_message) as { faultstring: string }).faultstring;
}

export type { ArqBody } from '../../apps/api/src/accelerator-requests/arq.view';

/** A project member, as keystonemiddleware would describe one. */
export const userOf = (project: string): Record<string, string> => ({
  'X-User-Id': `user-of-${project}`,
  'X-Project-Id': project,
  'X-Roles': 'member,reader',
});

/** Nova acting for a user of `project`: the user's identity plus a service token. */
export const novaFor = (project: string): Record<string, string> => ({
  ...userOf(project),
  'X-Service-Roles': 'service',
});

/** Nova's bind body for one ARQ, ops in Nova's order. */
export function bindOps(hostname: string, rp: string, instance: string) {
  return [
    { path: '/hostname', op: 'add', value: hostname },
    { path: '/device_rp_uuid', op: 'add', value: rp },
    { path: '/instance_uuid', op: 'add', value: instance },
  ];
}

export const unbindOps = [
  { path: '/hostname', op: 'remove' },
  { path: '/instance_uuid', op: 'remove' },
  { path: '/device_rp_uuid', op: 'remove' },
];

export const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The host as the conductor decides on it: its stream, folded. */
export async function hostState(store: EventStore<CyborgEvent>, hostname: string): Promise<HostState> {
  return fold(await store.readStream(Streams.host(hostname)), evolveHost, initialHostState);
}
