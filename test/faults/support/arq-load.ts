import { randomUUID } from 'node:crypto';
import type { FaultSystem } from './fault-system';
import { eventually } from './invariants';

export interface BindTarget {
  host: string;
  /** The resource provider (deployable) binds ask for. */
  rp: string;
}

/** One ARQ's life as the load drove it. */
export interface Lifecycle {
  arq: string;
  instance: string;
  host: string;
  /** The state the bind ended in, as the API showed it. */
  resolved: 'Bound' | 'BindFailed';
  /** Answers that were 5xx or no answer at all, sent again with the same Idempotency-Key. */
  retries: number;
  ms: number;
  /** When it ended (epoch ms); it began `ms` before. */
  endedAt: number;
}

export interface Answer {
  status: number;
  body: unknown;
  /** When the attempt that got this answer was sent. */
  sentAt?: number;
}

/** A command the API answered as done (created 201, bind accepted 202, deleted 204): it must be in the log. */
export interface Acknowledgement {
  arq: string;
  step: 'created' | 'bind accepted' | 'deleted';
  sentAt: number;
  answeredAt: number;
}

const PROJECT = 'faults-project';
/** A project member, as keystonemiddleware would describe one. */
const USER = { 'X-User-Id': 'faults-user', 'X-Project-Id': PROJECT, 'X-Roles': 'member,reader' };
/** Nova acting for that user, with a service token. */
const NOVA = { ...USER, 'X-Service-Roles': 'service' };

/** How long one request may go unanswered before it is sent again. */
const REQUEST_TIMEOUT_MS = 15_000;
/** How long an API that did not answer is passed over before it is tried again. */
const API_DOWN_MS = 2000;
/** How long one step may keep failing with 5xx before the lifecycle counts as broken. */
const STEP_BUDGET_MS = 120_000;
/** How long the read models may lag behind an accepted bind (they recover from an outage with backoff). */
const STALE_READ_BUDGET_MS = 30_000;

/**
 * A steady load of ARQ lifecycles over HTTP, as Nova drives them: create
 * an ARQ from a device profile, bind it to a host's deployable, wait for
 * Bound or BindFailed, delete it. A request answered 5xx, or not at all
 * (a service killed or cut off mid-request), is sent again with the same
 * Idempotency-Key until it is answered, so it takes effect once. Anything
 * else unexpected is recorded as a problem.
 */
export class ArqLoad {
  readonly done: Lifecycle[] = [];
  readonly problems: string[] = [];
  readonly acknowledged: Acknowledgement[] = [];
  /** Reads that did not show a bind the API had already accepted (read models behind after an outage). */
  staleReads = 0;
  /** Requests sent again to another API after one did not answer (connection refused, reset, no answer). */
  failovers = 0;
  private readonly apis: readonly string[];
  private nextApi = 0;
  /** Per API: passed over until then, after it did not answer (a load balancer's passive health check). */
  private readonly downUntil: number[];
  private running = false;
  private workers: Promise<void>[] = [];
  private next = 0;

  /** `api`: one API, or several, each request sent to the next as a round-robin load balancer would. */
  constructor(
    api: string | readonly string[],
    private readonly profile: string,
    private readonly targets: readonly BindTarget[],
    private readonly concurrency = 4,
  ) {
    this.apis = typeof api === 'string' ? [api] : api;
    this.downUntil = this.apis.map(() => 0);
  }

  /** The next API in turn that is not marked down (any, when all are). */
  private pickApi(): number {
    const now = Date.now();
    for (let i = 0; i < this.apis.length; i++) {
      const api = this.nextApi++ % this.apis.length;
      if (this.downUntil[api] <= now) return api;
    }
    return this.nextApi++ % this.apis.length;
  }

  start(): void {
    this.problems.length = 0;
    if (this.running) return;
    this.running = true;
    this.workers = Array.from({ length: this.concurrency }, () => this.work());
  }

  /** Lets each worker finish the lifecycle it is in, then stops. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
  }

  /** Waits until `n` more lifecycles than `from` have ended. */
  async completed(from: number, n: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.done.length < from + n) {
      if (Date.now() > deadline) throw new Error(`only ${this.done.length - from} of ${n} lifecycles ended in time`);
      if (this.problems.length > 0) throw new Error(`the load ran into problems: ${this.problems.join('; ')}`);
      await sleep(100);
    }
  }

  private async work(): Promise<void> {
    while (this.running) {
      const target = this.targets[this.next++ % this.targets.length];
      try {
        this.done.push(await this.lifecycle(target));
      } catch (error) {
        this.problems.push(error instanceof Error ? error.message : String(error));
        await sleep(500);
      }
    }
  }

  private async lifecycle(target: BindTarget): Promise<Lifecycle> {
    const started = Date.now();
    const instance = randomUUID();
    const retries = { n: 0 };
    const created = await this.send('POST', '/v2/accelerator_requests', USER, retries, {
      device_profile_name: this.profile,
    });
    if (created.status !== 201) throw unexpected('create', created);
    const arq = (created.body as { arqs: { uuid: string }[] }).arqs[0].uuid;
    this.acknowledge(arq, 'created', created);

    const ops = [
      { path: '/hostname', op: 'add', value: target.host },
      { path: '/device_rp_uuid', op: 'add', value: target.rp },
      { path: '/instance_uuid', op: 'add', value: instance },
    ];
    const bind = await this.send('PATCH', '/v2/accelerator_requests', NOVA, retries, { [arq]: ops });
    // A bind that could not start answers its reason (4xx) and is BindFailed already.
    if (bind.status !== 202 && (bind.status < 400 || bind.status >= 500)) throw unexpected(`bind of ${arq}`, bind);
    if (bind.status === 202) this.acknowledge(arq, 'bind accepted', bind);

    const resolved = await this.resolved(arq, retries, bind);
    const deleted = await this.send('DELETE', `/v2/accelerator_requests/${arq}`, NOVA, retries);
    if (deleted.status !== 204) throw unexpected(`delete of ${arq}`, deleted);
    this.acknowledge(arq, 'deleted', deleted);
    const endedAt = Date.now();
    return { arq, instance, host: target.host, resolved, retries: retries.n, ms: endedAt - started, endedAt };
  }

  private acknowledge(arq: string, step: Acknowledgement['step'], answer: Answer): void {
    this.acknowledged.push({ arq, step, sentAt: answer.sentAt ?? Date.now(), answeredAt: Date.now() });
  }

  /** Polls as Nova does until the bind has ended. */
  private async resolved(arq: string, retries: { n: number }, bind: Answer): Promise<'Bound' | 'BindFailed'> {
    const deadline = Date.now() + STEP_BUDGET_MS;
    const answeredAt = Date.now();
    for (;;) {
      const answer = await this.send('GET', `/v2/accelerator_requests/${arq}`, USER, retries);
      if (answer.status !== 200) throw unexpected(`read of ${arq}`, answer);
      const { state } = answer.body as { state: string };
      if (state === 'Bound' || state === 'BindFailed') return state;
      // Read-your-writes is bounded (READ_YOUR_WRITES_TIMEOUT_MS): right after an outage the
      // answer may come before the read models show the bind. They must catch up, not stay behind.
      if (state === 'Initial' && bind.status === 202 && Date.now() - answeredAt < STALE_READ_BUDGET_MS) {
        this.staleReads++;
      } else if (state !== 'BindStarted') {
        throw new Error(
          `ARQ ${arq} is ${state} after its bind was answered ${bind.status} ${JSON.stringify(bind.body)}`,
        );
      }
      if (Date.now() > deadline) throw new Error(`ARQ ${arq} still BindStarted after ${STEP_BUDGET_MS} ms`);
      await sleep(100);
    }
  }

  /**
   * One request, sent again (same Idempotency-Key) while it is answered 5xx
   * or not at all; with several APIs, one that did not answer is passed over
   * for the next, as a load balancer does.
   */
  private async send(
    method: string,
    path: string,
    identity: Record<string, string>,
    retries: { n: number },
    json?: unknown,
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...identity, 'Idempotency-Key': randomUUID() };
    if (json !== undefined) headers['Content-Type'] = 'application/json';
    const deadline = Date.now() + STEP_BUDGET_MS;
    let api = this.pickApi();
    let passedOver = 0;
    for (let wait = 100; ;) {
      let problem: string;
      let unanswered = false;
      const sentAt = Date.now();
      try {
        const response = await fetch(`${this.apis[api]}${path}`, {
          method,
          headers,
          body: json === undefined ? undefined : JSON.stringify(json),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const text = await response.text();
        const answer = { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined, sentAt };
        if (answer.status < 500) return answer;
        problem = `${answer.status} ${text.slice(0, 300)}`;
      } catch (error) {
        problem = error instanceof Error ? error.message : String(error);
        unanswered = true;
      }
      retries.n++;
      if (Date.now() > deadline) throw new Error(`${method} ${path} kept failing for ${STEP_BUDGET_MS} ms: ${problem}`);
      // The next API at once, until each was tried; then wait before going round again.
      if (unanswered && this.apis.length > 1) {
        this.downUntil[api] = Date.now() + API_DOWN_MS;
        api = (api + 1) % this.apis.length;
        this.failovers++;
        if (++passedOver % this.apis.length !== 0) continue;
      }
      await sleep(wait);
      wait = Math.min(wait * 2, 1000);
    }
  }
}

function unexpected(what: string, answer: Answer): Error {
  return new Error(`${what} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A device profile `profile` asking for one fake FPGA, and each host's fake
 * FPGA (16 handles) as the resource provider Nova would pick from Placement,
 * read from the last API (so every API's read models hold them): what the
 * scenarios' loads bind to, over every API of the system.
 */
export async function fakeFpgaLoad(
  system: FaultSystem,
  profile: string,
  hosts: readonly string[],
): Promise<{ load: ArqLoad; targets: BindTarget[] }> {
  const created = await fetch(`${system.apiUrl}/v2/device_profiles`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify([
      { name: profile, groups: [{ 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' }] },
    ]),
  });
  expect(created.status).toBe(201);
  const api = system.apiUrls[system.apiUrls.length - 1];
  const targets = await Promise.all(
    hosts.map((host) =>
      eventually(
        `deployables of ${host}`,
        async () => {
          const answer = await fetch(`${api}/v2/deployables?filters.field=name&filters.value=${host}_FakeDevice`);
          const { deployables } = (await answer.json()) as { deployables: { rp_uuid: string }[] };
          return deployables[0] ? { host, rp: deployables[0].rp_uuid } : undefined;
        },
        30_000,
      ),
    ),
  );
  return { load: new ArqLoad(system.apiUrls, profile, targets, 4), targets };
}
