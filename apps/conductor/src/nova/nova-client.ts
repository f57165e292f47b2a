import { Backoff } from '@cyborg/config';
import { EndpointNotFoundError, FixedTokenAuth, type ServiceAuth } from '@cyborg/keystone';

/** One `accelerator-request-bound` event: Nova waits for one per ARQ of an instance (Cyborg §10.4). */
export interface ArqBoundEvent {
  /** The instance the ARQ was bound to. */
  serverUuid: string;
  arqUuid: string;
  status: 'completed' | 'failed';
}

export interface NovaClientOptions {
  /** Where Nova is and the token to send: a service user's session (catalog `compute`), or a fixed one. */
  auth?: ServiceAuth;
  /** Nova's compute endpoint, e.g. `http://ctl/compute/v2.1`, when there is no `auth`. */
  url?: string;
  /** Sent as X-Auth-Token when there is no `auth`; Nova asks for a service or admin identity. */
  token?: string;
  /** Sends after the first; default 5. */
  retries?: number;
  /** First wait between sends, doubled each time; default 250 ms. */
  backoffMs?: number;
  /** One send's time limit; default 10 s. */
  timeoutMs?: number;
}

export type NovaDelivery =
  { delivered: true; status: number; detail: string } | { delivered: false; status: number | null; detail: string };

/** Nova's answer per event (200/207): `code` 404 unknown instance, 422 instance not yet on a host. */
interface NovaEventResult {
  code?: number;
}

/** The first compute API microversion that knows `accelerator-request-bound`. */
const NOVA_MICROVERSION = '2.82';

/**
 * Tells Nova how binds ended: `POST /os-server-external-events` at compute
 * microversion 2.82, the way Cyborg does. A 207 whose events are all 422 (the
 * instance is not on its host yet: Nova's early-event check covers it) counts
 * as delivered, as upstream. Connection errors, 5xx and 429 are sent again
 * with backoff; any other answer is final and reported.
 */
export class NovaClient {
  private readonly auth: ServiceAuth;

  constructor(private readonly options: NovaClientOptions) {
    if (!options.auth && !options.url) throw new Error('NovaClient needs auth or url');
    this.auth = options.auth ?? new FixedTokenAuth(options.url!, options.token);
  }

  async sendBindEvents(events: readonly ArqBoundEvent[], signal?: AbortSignal): Promise<NovaDelivery> {
    const body = JSON.stringify({
      events: events.map((e) => ({
        name: 'accelerator-request-bound',
        server_uuid: e.serverUuid,
        tag: e.arqUuid,
        status: e.status,
      })),
    });
    const retries = this.options.retries ?? 5;
    const first = this.options.backoffMs ?? 250;
    const backoff = new Backoff({ initialMs: first, maxMs: first * 2 ** retries });
    let last: NovaDelivery = { delivered: false, status: null, detail: 'not sent' };
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await backoff.wait(signal);
      if (signal?.aborted) return last;
      const sent = await this.send(body, signal);
      if (sent.final) return sent.delivery;
      last = sent.delivery;
    }
    return last;
  }

  private async send(body: string, signal?: AbortSignal): Promise<{ final: boolean; delivery: NovaDelivery }> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'OpenStack-API-Version': `compute ${NOVA_MICROVERSION}`,
      'X-OpenStack-Nova-API-Version': NOVA_MICROVERSION,
    };
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 10_000);
    let response: Response;
    try {
      response = await this.auth.request(`${await this.auth.baseUrl()}/os-server-external-events`, {
        method: 'POST',
        headers,
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      // No compute service in the catalog: sending again changes nothing until an operator adds it.
      if (error instanceof EndpointNotFoundError) {
        return { final: true, delivery: { delivered: false, status: null, detail: error.message } };
      }
      return {
        final: false,
        delivery: { delivered: false, status: null, detail: `Nova unreachable: ${describe(error)}` },
      };
    }
    const text = await response.text().catch(() => '');
    const status = response.status;
    if (status === 200) return { final: true, delivery: { delivered: true, status, detail: 'accepted' } };
    if (status === 207) {
      const codes = eventCodes(text);
      if (codes.length > 0 && codes.every((code) => code === 422)) {
        return { final: true, delivery: { delivered: true, status, detail: 'instances not on a host yet (422)' } };
      }
      return {
        final: true,
        delivery: {
          delivered: false,
          status,
          detail: `Bad API response from Nova: event codes ${codes.join(', ') || 'missing'}`,
        },
      };
    }
    const retryable = status >= 500 || status === 429 || status === 408;
    return {
      final: !retryable,
      delivery: { delivered: false, status, detail: `Nova answered ${status}: ${text.slice(0, 300)}` },
    };
  }
}

function eventCodes(text: string): number[] {
  try {
    const parsed = JSON.parse(text) as { events?: NovaEventResult[] };
    return (parsed.events ?? []).map((e) => (typeof e.code === 'number' ? e.code : 0));
  } catch {
    return [];
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
