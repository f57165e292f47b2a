import type { EventData } from '@cyborg/event-store';

type Describe = (d: Reader) => string;

/** Reads event data loosely: an audit shows old and odd events too, never failing on one. */
class Reader {
  constructor(private readonly data: EventData) {}

  text(key: string): string {
    const value = this.data[key];
    return value === undefined || value === null ? '-' : typeof value === 'string' ? value : JSON.stringify(value);
  }

  value(key: string): unknown {
    return this.data[key];
  }

  has(key: string): boolean {
    return this.data[key] !== undefined && this.data[key] !== null;
  }

  /** A health event's reasons as `code: message; ...`, or `no reason`. */
  reasons(key: string): string {
    const value = this.data[key];
    if (!Array.isArray(value) || value.length === 0) return 'no reason';
    return value
      .map((r) => {
        const reason = new Reader(typeof r === 'object' && r !== null ? (r as EventData) : {});
        return `${reason.text('code')}: ${reason.text('message')}`;
      })
      .join('; ');
  }

  object(key: string): Reader {
    const value = this.data[key];
    return new Reader(typeof value === 'object' && value !== null ? (value as EventData) : {});
  }
}

const released = (d: Reader) =>
  d.has('releasedAttachHandleUuid') ? `, released handle ${d.text('releasedAttachHandleUuid')}` : '';

const DESCRIPTIONS: Record<string, Describe> = {
  ArqCreated: (d) =>
    `created from profile ${d.text('deviceProfileName')} group ${d.text('deviceProfileGroupId')}` +
    `${d.has('resourceClass') ? ` (${d.text('resourceClass')})` : ''} for project ${d.text('projectId')}`,
  ArqBindStarted: (d) =>
    `bind ${d.text('attempt')} started on ${d.text('hostname')}: instance ${d.text('instanceUuid')}, ` +
    `${d.object('attachHandle').text('type')} handle ${d.object('attachHandle').text('uuid')} of ` +
    `${d.object('attachHandle').text('deployableName')}`,
  ArqBound: (d) =>
    `bound (bind ${d.text('attempt')}): ${d.text('attachHandleType')} handle ${d.text('attachHandleUuid')}`,
  ArqBindFailed: (d) => `bind ${d.text('attempt')} on ${d.text('hostname')} failed: ${d.text('reason')}`,
  ArqUnbound: (d) => `unbound${released(d)}`,
  ArqDeleted: (d) => `deleted${released(d)}`,
  DeviceProfileCreated: (d) => `profile ${d.text('name')} created with groups ${d.text('groups')}`,
  DeviceProfileDeleted: (d) => `profile ${d.text('name')} deleted`,
  DeviceProfileNameClaimed: (d) => `name ${d.text('name')} taken by profile ${d.text('uuid')}`,
  DeviceProfileNameReleased: (d) => `name ${d.text('name')} released by profile ${d.text('uuid')}`,
  HostRegistered: (d) => `agent ${d.text('agentVersion')} registered with drivers ${d.text('drivers')}`,
  InventoryReported: (d) => `inventory report ${d.text('generation')} recorded`,
  DeviceAdded: (d) =>
    `device ${d.text('uuid')} added: ${d.text('type')} ${d.text('model')} at ${d.text('controlPath')}`,
  DeviceUpdated: (d) => `device ${d.text('uuid')} reported changed: ${d.text('type')} ${d.text('model')}`,
  DeviceDraining: (d) => `device ${d.text('uuid')} gone from the host, draining: a handle is in use`,
  DeviceRemoved: (d) => `device ${d.text('uuid')} at ${d.text('controlPath')} removed`,
  DeviceDisabled: (d) => `device ${d.text('uuid')} disabled (maintaining)`,
  DeviceEnabled: (d) => `device ${d.text('uuid')} enabled`,
  DeviceHealthChanged: (d) =>
    `device ${d.text('uuid')} health ${d.text('from')} -> ${d.text('to')} (${d.reasons('reasons')})` +
    `${d.value('fenced') === true ? ', fenced: no new binds' : ''}`,
  DeviceFenceReleased: (d) => `device ${d.text('uuid')} released from its health fence`,
  DeviceReshapeRequested: (d) =>
    `reshape ${d.text('reshapeId')} of device ${d.text('uuid')} requested: ${d.text('spec')} (when busy: ${d.text('whenBusy')})` +
    `${d.has('waitingFor') && d.text('waitingFor') !== '[]' ? `, waiting for ${d.text('waitingFor')}` : ''}`,
  DeviceReshapeApplied: (d) => `reshape ${d.text('reshapeId')} of device ${d.text('uuid')} applied: ${d.text('spec')}`,
  DeviceReshapeFailed: (d) => `reshape ${d.text('reshapeId')} of device ${d.text('uuid')} failed: ${d.text('reasons')}`,
  ArqDeviceHealthChanged: (d) =>
    `device ${d.text('deviceUuid')} of its handle ${d.text('attachHandleUuid')} is ${d.text('health')} (${d.reasons('reasons')})`,
  DeployableAdded: (d) =>
    `deployable ${d.text('name')} added: ${d.text('numAccelerators')} accelerator(s), rp ${d.text('rpUuid')}`,
  DeployableUpdated: (d) =>
    `deployable ${d.text('name')} reported changed: ${d.text('numAccelerators')} accelerator(s)`,
  DeployableDraining: (d) => `deployable ${d.text('name')} gone from the host, draining`,
  DeployableRemoved: (d) => `deployable ${d.text('name')} removed`,
  AttachHandleAdded: (d) => `${d.text('type')} handle ${d.text('uuid')} added: ${d.text('info')}`,
  AttachHandleUpdated: (d) => `${d.text('type')} handle ${d.text('uuid')} reported again`,
  AttachHandleDraining: (d) => `handle ${d.text('uuid')} gone from the host, draining`,
  AttachHandleRemoved: (d) => `handle ${d.text('uuid')} removed`,
  AttachHandleAllocated: (d) => `handle ${d.text('uuid')} allocated to ARQ ${d.text('arqUuid')}`,
  AttachHandleReleased: (d) => `handle ${d.text('uuid')} released by ARQ ${d.text('arqUuid')}`,
  AttributeAdded: (d) => `attribute ${d.text('key')}=${d.text('value')} added (${d.text('source')})`,
  AttributeUpdated: (d) => `attribute ${d.text('key')} set to ${d.text('value')}`,
  AttributeRemoved: (d) => `attribute ${d.text('key')} removed`,
};

/** One line saying what an event did, in the domain's words; unknown types show their data. */
export function summarize(type: string, data: EventData): string {
  const describe = DESCRIPTIONS[type];
  if (describe) return describe(new Reader(data));
  const text = JSON.stringify(data);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}
