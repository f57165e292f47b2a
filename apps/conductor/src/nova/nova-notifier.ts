import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Settings } from '@cyborg/config';
import {
  ArqBindFailed,
  ArqBindStarted,
  ArqBound,
  ArqDeleted,
  ArqUnbound,
  type CyborgEvent,
  isEvent,
  Streams,
} from '@cyborg/contracts';
import { EventStore, type LogProcessor, ProcessorRunner, type RecordedEvent } from '@cyborg/event-store';
import { serviceAuthFrom } from '@cyborg/keystone';
import { processMetrics } from '@cyborg/metrics';
import { type ArqBoundEvent, NovaClient } from './nova-client';

/**
 * Tells Nova how every bind ended, from the log: a processor over the ARQ
 * events with its own checkpoint, moved only once Nova took the events, so
 * a conductor that dies between recording `Bound` and telling Nova tells it
 * after its restart (at least once; Nova ignores a repeated event). One
 * conductor sends at a time. Nova is NOVA_URL, or the catalog's `compute`
 * when the service user logs in (KEYSTONE_AUTH_URL); without either nothing runs.
 */
@Injectable()
export class NovaNotifier implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('nova');
  private readonly stopping = new AbortController();
  private runner: ProcessorRunner | null = null;

  constructor(
    private readonly store: EventStore<CyborgEvent>,
    private readonly settings: Settings,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const auth = serviceAuthFrom(this.settings, {
      serviceType: 'compute',
      url: this.settings.NOVA_URL,
      token: this.settings.NOVA_AUTH_TOKEN,
    });
    if (!auth) {
      this.logger.log({ msg: 'NOVA_URL and KEYSTONE_AUTH_URL unset: bind outcomes are not sent to Nova' });
      return;
    }
    const client = new NovaClient({ auth });
    const processor: LogProcessor = {
      name: 'nova-notifications',
      eventTypes: [ArqBound.type, ArqBindFailed.type, ArqUnbound.type, ArqDeleted.type],
      delivery: 'external',
      batchSize: 200,
      handle: (events) => this.send(client, events),
    };
    this.runner = new ProcessorRunner(processor, this.store, {
      databaseUrl: this.settings.DATABASE_URL,
      pollIntervalMs: this.settings.PROJECTION_POLL_MS,
    });
    await this.runner.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    await this.runner?.stop();
  }

  /** One request per instance; a Nova that is away fails the batch, which the runner sends again. */
  private async send(client: NovaClient, events: RecordedEvent[]): Promise<void> {
    const byInstance = new Map<string, ArqBoundEvent[]>();
    for (const event of events) {
      const outcome = await this.outcomeOf(event);
      if (!outcome) continue;
      const list = byInstance.get(outcome.serverUuid) ?? [];
      list.push(outcome);
      byInstance.set(outcome.serverUuid, list);
    }
    for (const [instance, outcomes] of byInstance) {
      const delivery = await client.sendBindEvents(outcomes, this.stopping.signal);
      const arqs = outcomes.map((e) => `${e.arqUuid}:${e.status}`);
      const counted = processMetrics().novaNotifications;
      if (delivery.delivered) {
        counted.inc({ outcome: 'delivered' }, outcomes.length);
        this.logger.log({ msg: 'Nova notified', instance, arqs, status: delivery.status, detail: delivery.detail });
        continue;
      }
      const retryable = delivery.status === null || delivery.status >= 500 || [408, 429].includes(delivery.status);
      if (retryable && !this.stopping.signal.aborted) {
        counted.inc({ outcome: 'retried' }, outcomes.length);
        throw new Error(`Nova not reachable: ${delivery.detail}`);
      }
      counted.inc({ outcome: 'refused' }, outcomes.length);
      // Nova refused for good (the instance is gone): sending again would not change that.
      this.logger.error({ msg: 'Nova not notified', instance, arqs, status: delivery.status, detail: delivery.detail });
    }
  }

  /** The event Nova waits for, if this log event ended a bind. */
  private async outcomeOf(event: RecordedEvent): Promise<ArqBoundEvent | null> {
    if (isEvent(event, ArqBound)) {
      const d = event.data;
      const instance = d.instanceUuid ?? (await this.instanceOfBind(d.uuid, d.attempt));
      return instance ? { serverUuid: instance, arqUuid: d.uuid, status: 'completed' } : null;
    }
    if (isEvent(event, ArqBindFailed)) {
      const d = event.data;
      return d.instanceUuid ? { serverUuid: d.instanceUuid, arqUuid: d.uuid, status: 'failed' } : null;
    }
    if (isEvent(event, ArqUnbound) || isEvent(event, ArqDeleted)) {
      // Upstream: an ARQ unbound or deleted while its bind ran counts as failed.
      const d = event.data;
      return d.interruptedBind
        ? { serverUuid: d.interruptedBind.instanceUuid, arqUuid: d.uuid, status: 'failed' }
        : null;
    }
    return null;
  }

  /** For Bound events recorded before they carried the instance. */
  private async instanceOfBind(arqUuid: string, attempt: number): Promise<string | null> {
    const events = await this.store.readStream(Streams.arq(arqUuid));
    for (const e of events) {
      if (e.type === ArqBindStarted.type && e.data.attempt === attempt) return e.data.instanceUuid;
    }
    return null;
  }
}
