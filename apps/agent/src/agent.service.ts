import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Backoff, Settings, sleep } from '@cyborg/config';
import {
  type CommandReply,
  heartbeatMessage,
  type HeartbeatResult,
  type InventorySnapshot,
  type PingReply,
  type HeldHandle,
  registerHostMessage,
  type RegisterHostResult,
  ReportInventoryErrors,
  reportInventoryMessage,
  type ReportInventoryResult,
  type StaleInventoryReport,
} from '@cyborg/contracts';
import {
  type AcceleratorDriver,
  canReshape,
  controlPathKey,
  createDrivers,
  type DevicesByDriver,
  discoverHost,
  driverSettingsOf,
  inventorySnapshot,
} from '@cyborg/drivers';
import { RpcClient, RpcFailure } from '@cyborg/messaging';
import { secondsSince } from '@cyborg/metrics';
import { recordDiscovery } from './agent-metrics';

export const AGENT_VERSION = '0.1.0';

/**
 * The host's agent: registers with the conductor, reports the host's
 * accelerators at start and every AGENT_REPORT_INTERVAL_MS (a full
 * snapshot; the conductor records only what changed), and answers the
 * host's work.
 */
@Injectable()
export class AgentService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('agent');
  private readonly startedAt = new Date().toISOString();
  private readonly accelerators: AcceleratorDriver[];
  private readonly stopping = new AbortController();
  private stopped = false;
  private registration: Promise<void> | null = null;
  /** Settles once the first registration's answer is taken in (with what the log says the host holds). */
  private readonly started: Promise<readonly HeldHandle[]>;
  private startedWith!: (held: readonly HeldHandle[]) => void;
  /** The report in progress; reports run one at a time. */
  private reporting: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private heartbeats: NodeJS.Timeout | null = null;
  private devicesByDriver: DevicesByDriver = new Map();
  // Microseconds since the epoch at start: rises across restarts, so a report
  // sent before a restart can never pass for a newer one.
  private nextGeneration = Date.now() * 1000;

  constructor(
    private readonly settings: Settings,
    private readonly rpc: RpcClient,
  ) {
    // An unknown driver name stops the agent at start, as upstream's does.
    this.accelerators = createDrivers(this.drivers, driverSettingsOf(settings));
    this.started = new Promise((resolve) => (this.startedWith = resolve));
  }

  get hostname(): string {
    return this.settings.AGENT_HOSTNAME;
  }

  get drivers(): string[] {
    return this.settings.AGENT_DRIVERS.split(',')
      .map((d) => d.trim())
      .filter(Boolean);
  }

  onApplicationBootstrap() {
    // The conductor may start after the agent: keep trying in the background.
    this.registration = this.registerUntilDone().then((result) => this.takeIn(result));
    void this.registration.then(() => {
      void this.periodicReport();
      this.heartbeats = setInterval(() => void this.heartbeat(), this.settings.AGENT_HEARTBEAT_INTERVAL_MS);
      this.heartbeats.unref();
    });
  }

  async onApplicationShutdown() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeats) clearInterval(this.heartbeats);
    this.stopping.abort(new Error('the agent is stopping'));
    await this.registration;
    await this.reporting;
  }

  /**
   * Settles once the agent has registered and the drivers have the shapes the log kept, with
   * the attach handles the log says are held. Device work waits for it, so it never acts on
   * less than the log knows; an agent that stops before never answers that work, and the
   * conductor asks the next one.
   */
  registered(): Promise<readonly HeldHandle[]> {
    return this.started;
  }

  /** The loaded driver of that name: the one that reported a device does its host-side work. */
  driver(name: string): AcceleratorDriver | undefined {
    return this.accelerators.find((driver) => driver.name === name);
  }

  ping(): PingReply {
    return { hostname: this.hostname, drivers: this.drivers, startedAt: this.startedAt };
  }

  /**
   * Discovers and reports now, after any report in progress, and never before the registration's
   * answer is taken in: a report of what a driver knew without the log's shapes would undo reshapes.
   */
  reportNow(): Promise<ReportInventoryResult> {
    const run = this.reporting.then(() => this.registration).then(() => this.report());
    this.reporting = run.catch(() => undefined);
    return run;
  }

  /** Tells the conductors the host is alive; a missed one is harmless, several mark the host down. */
  private async heartbeat(): Promise<void> {
    try {
      const { subject, command } = heartbeatMessage(this.hostname);
      await this.rpc.request<HeartbeatResult>(subject, command);
    } catch (error) {
      if (!this.stopped) this.logger.warn({ msg: 'heartbeat not delivered', error: (error as Error).message });
    }
  }

  private async periodicReport(): Promise<void> {
    try {
      await this.reportNow();
    } catch (error) {
      if (!this.stopped) {
        this.logger.warn({ msg: 'inventory report failed', hostname: this.hostname, error: (error as Error).message });
      }
    } finally {
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.periodicReport(), this.settings.AGENT_REPORT_INTERVAL_MS);
        this.timer.unref();
      }
    }
  }

  private async report(): Promise<ReportInventoryResult> {
    await this.registration;
    if (this.stopped) throw new Error('the agent is stopping');
    const started = performance.now();
    const found = await discoverHost(this.hostname, this.accelerators, this.devicesByDriver, {
      signal: this.stopping.signal,
    });
    recordDiscovery(this.hostname, found, secondsSince(started));
    for (const warning of found.warnings) {
      this.logger.warn({
        msg: 'discovery warning',
        hostname: this.hostname,
        driver: warning.driver,
        controlPath: warning.controlPathId ? controlPathKey(warning.controlPathId) : undefined,
        warning: warning.message,
      });
    }
    this.devicesByDriver = found.devicesByDriver;
    return this.send(inventorySnapshot(found.inventory));
  }

  /** One retry for the refusals the agent can fix itself: a stale generation, a forgotten registration. */
  private async send(snapshot: InventorySnapshot, retried = false): Promise<ReportInventoryResult> {
    const { subject, command } = reportInventoryMessage(snapshot, this.nextGeneration++);
    try {
      const reply = await this.rpc.request<CommandReply<ReportInventoryResult>>(subject, command);
      if (reply.result.changed) {
        this.logger.log({
          msg: 'inventory reported',
          hostname: this.hostname,
          generation: command.generation,
          devices: snapshot.devices.length,
          events: reply.result.events,
        });
      }
      return reply.result;
    } catch (error) {
      if (retried || !(error instanceof RpcFailure)) throw error;
      if (error.code === ReportInventoryErrors.staleReport) {
        // The recorded generation is ahead (the clock went back across a restart): continue above it.
        const { recordedGeneration } = error.details as StaleInventoryReport;
        this.nextGeneration = Math.max(this.nextGeneration, recordedGeneration + 1);
        return this.send(snapshot, true);
      }
      if (error.code === ReportInventoryErrors.hostNotRegistered) {
        await this.registerUntilDone();
        return this.send(snapshot, true);
      }
      throw error;
    }
  }

  /**
   * Gives the drivers back what applied reshapes made of the devices (a vGPU type is kept by
   * the log, not by the device), then clears what prepares left on handles the log shows free
   * (their release was sent once, maybe while the agent was down); before the first report and
   * before any work on devices.
   */
  private async takeIn(result: RegisterHostResult | null): Promise<void> {
    for (const shape of result?.deviceShapes ?? []) {
      const driver = this.driver(shape.driverName);
      if (!driver || !canReshape(driver) || !driver.keepShape) continue;
      const { numVfs, migProfiles, vgpuType } = shape;
      try {
        await driver.keepShape({ controlPathId: shape.controlPathId }, { numVfs, migProfiles, vgpuType });
      } catch (error) {
        this.logger.warn({
          msg: 'could not keep a reshaped device as it was',
          device: shape.deviceUuid,
          error: (error as Error).message,
        });
      }
    }
    for (const handle of result?.releasedHandles ?? []) {
      const driver = this.driver(handle.driverName);
      if (!driver?.clearReleasedAttachHandle) continue;
      try {
        await driver.clearReleasedAttachHandle({
          uuid: handle.uuid,
          deployableName: handle.deployableName,
          handle: { type: handle.type, info: handle.info, inUse: false },
        });
      } catch (error) {
        this.logger.warn({
          msg: 'could not clear an attach handle the log shows free',
          handle: handle.uuid,
          error: (error as Error).message,
        });
      }
    }
    // Null: the agent stopped first. An older conductor's answer names no handles.
    if (result) this.startedWith(result.heldHandles ?? []);
  }

  private async registerUntilDone(): Promise<RegisterHostResult | null> {
    // One command id for every try: a registration that landed but whose reply was lost is not recorded twice.
    const { subject, command } = registerHostMessage(this.hostname, this.drivers, AGENT_VERSION);
    const backoff = new Backoff({ initialMs: 250, maxMs: 10_000 });
    while (!this.stopped) {
      try {
        const result = await this.rpc.request<RegisterHostResult>(subject, command);
        this.logger.log({ msg: 'registered with the conductor', hostname: this.hostname, changed: result.changed });
        return result;
      } catch (error) {
        const retryInMs = backoff.next();
        this.logger.warn({
          msg: 'registration failed, retrying',
          hostname: this.hostname,
          error: (error as Error).message,
          retryInMs,
        });
        await sleep(retryInMs);
      }
    }
    return null;
  }
}
