import { createHash } from 'node:crypto';
import type { ReportedDevice } from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import { type DomainEvent, fold } from '../domain-event';
import {
  checkAttributeInput,
  type CreateAttribute,
  decideCreateAttribute,
  decideDeleteAttribute,
  MAX_API_ATTRIBUTES_PER_DEPLOYABLE,
} from './attribute.decide';
import { decideRegisterHost, evolveHost, type HostState, initialHostState } from './host';
import { agentAttributeUuid, deployableUuid } from './inventory-ids';
import { decideReportInventory } from './inventory.decide';

const hostname = 'compute-1';
const deployableName = `${hostname}_FakeDevice`;
const deployable = deployableUuid(hostname, deployableName);
const attributeUuid = '5c3f0d2e-7d0c-4f43-9d84-1b0f3f0b5e61';

function fakeFpga(attributes: { key: string; value: string }[]): ReportedDevice {
  return {
    type: 'FPGA',
    vendor: '0xABCD',
    model: 'miss model info',
    std_board_info: null,
    vendor_board_info: null,
    controlPathId: { type: 'PCI', info: { domain: '0000', bus: '0c', device: '00', function: '0' } },
    driverName: 'fake',
    deployables: [
      {
        name: deployableName,
        numAccelerators: 1,
        driverName: 'fake',
        attributes,
        attachHandles: [{ type: 'TEST_PCI', info: '{"domain": "0000", "bus": "0c", "device": "0", "function": "1"}' }],
      },
    ],
  };
}

let generation = 0;
function report(devices: ReportedDevice[], state: HostState): DomainEvent[] {
  const inventoryHash = createHash('sha256').update(JSON.stringify(devices)).digest('hex');
  const events = decideReportInventory({ hostname, generation: ++generation, inventoryHash, devices }, state);
  if (events instanceof DomainError) throw new Error(events.message);
  return events;
}

/** Given a registered host whose agent reported the fake FPGA with `rc=FPGA`. */
function givenHost(): HostState {
  const registered = fold(
    decideRegisterHost({ hostname, drivers: ['fake'], agentVersion: '0.1.0' }, initialHostState),
    evolveHost,
    initialHostState,
  );
  return fold(report([fakeFpga([{ key: 'rc', value: 'FPGA' }])], registered), evolveHost, registered);
}

const create = (change: Partial<CreateAttribute> = {}): CreateAttribute => ({
  hostname,
  uuid: attributeUuid,
  deployableUuid: deployable,
  key: 'trait9',
  value: 'CUSTOM_MINE',
  ...change,
});

function decided(events: DomainEvent[] | DomainError): DomainEvent[] {
  if (events instanceof DomainError) throw new Error(`refused: ${events.message}`);
  return events;
}

/** Given the host with an operator's attribute created through the API. */
function givenOperatorAttribute(state = givenHost(), command = create()): HostState {
  return fold(decided(decideCreateAttribute(command, state)), evolveHost, state);
}

describe('creating an attribute through the API', () => {
  it("records it on the host stream as the operator's (source api)", () => {
    const events = decideCreateAttribute(create(), givenHost());
    expect(events).toEqual([
      {
        type: 'AttributeAdded',
        data: {
          hostname,
          uuid: attributeUuid,
          deployableUuid: deployable,
          key: 'trait9',
          value: 'CUSTOM_MINE',
          source: 'api',
        },
      },
    ]);
  });

  it('refuses a deployable the host does not have', () => {
    const other = deployableUuid(hostname, 'elsewhere');
    expect(decideCreateAttribute(create({ deployableUuid: other }), givenHost())).toMatchObject({
      kind: 'not_found',
      code: 'deployable_not_found',
      message: `Deployable not found with uuid=${other}`,
    });
  });

  it('refuses a key the deployable already has, whoever made it', () => {
    expect(decideCreateAttribute(create({ key: 'rc' }), givenHost())).toMatchObject({
      kind: 'conflict',
      code: 'attribute_key_taken',
      message: `An attribute with key rc already exists on deployable ${deployable}.`,
    });
    const state = givenOperatorAttribute();
    expect(decideCreateAttribute(create({ uuid: 'another', value: 'other' }), state)).toMatchObject({
      kind: 'conflict',
      code: 'attribute_key_taken',
    });
  });

  it('refuses more than the limit of operator attributes on one deployable', () => {
    let state = givenHost();
    for (let i = 0; i < MAX_API_ATTRIBUTES_PER_DEPLOYABLE; i++) {
      state = givenOperatorAttribute(state, create({ uuid: `uuid-${i}`, key: `trait${i + 10}` }));
    }
    expect(decideCreateAttribute(create({ uuid: 'one-more', key: 'one-more' }), state)).toMatchObject({
      kind: 'conflict',
      code: 'too_many_attributes',
    });
  });

  it('refuses a deployable that is only kept while its handle is in use', () => {
    const host = givenHost();
    const [handle] = host.inventory.attachHandles.values();
    const inUse = evolveHost(host, {
      type: 'AttachHandleAllocated',
      data: { hostname, uuid: handle.uuid, deployableUuid: deployable, arqUuid: 'arq-1' },
    });
    const drained = fold(report([], inUse), evolveHost, inUse);
    expect(decideCreateAttribute(create(), drained)).toMatchObject({ kind: 'conflict', code: 'deployable_draining' });
  });

  it.each([
    ['an empty key', { key: '' }, /field\/attribute key/],
    ['a key with surrounding blanks', { key: ' rc' }, /field\/attribute key/],
    ['a key too long', { key: 'k'.repeat(256) }, /key.*at most 255/],
    ['a value too long', { value: 'v'.repeat(1025) }, /value.*at most 1024/],
  ])('refuses %s, naming the field', (_what, change, message) => {
    expect(checkAttributeInput({ key: 'k', value: 'v', ...change })).toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(message),
    });
    expect(decideCreateAttribute(create(change), givenHost())).toMatchObject({ kind: 'invalid' });
  });

  it('takes an empty value', () => {
    expect(checkAttributeInput({ key: 'k', value: '' })).toBeNull();
  });
});

describe("an operator's attribute and the agent's reports", () => {
  it('survives a changed report that does not mention it', () => {
    const state = givenOperatorAttribute();
    const events = report(
      [
        fakeFpga([
          { key: 'rc', value: 'FPGA' },
          { key: 'trait0', value: 'CUSTOM_NEW' },
        ]),
      ],
      state,
    );
    expect(events.map((e) => e.type)).toEqual(['AttributeAdded', 'InventoryReported']);
    const after = fold(events, evolveHost, state);
    expect(after.inventory.attributes.get(attributeUuid)).toMatchObject({ key: 'trait9', source: 'api' });
  });

  it("gives way when the agent comes to report the same key: the agent's value wins, one key per deployable", () => {
    const state = givenOperatorAttribute();
    const events = report(
      [
        fakeFpga([
          { key: 'rc', value: 'FPGA' },
          { key: 'trait9', value: 'CUSTOM_FROM_AGENT' },
        ]),
      ],
      state,
    );
    expect(events.map((e) => [e.type, 'uuid' in e.data ? e.data.uuid : undefined])).toEqual([
      ['AttributeRemoved', attributeUuid],
      ['AttributeAdded', agentAttributeUuid(hostname, deployableName, 'trait9')],
      ['InventoryReported', undefined],
    ]);
    const after = fold(events, evolveHost, state);
    const trait9 = [...after.inventory.attributes.values()].filter((a) => a.key === 'trait9');
    expect(trait9).toEqual([expect.objectContaining({ value: 'CUSTOM_FROM_AGENT', source: 'agent' })]);
  });

  it('goes with its deployable', () => {
    const state = givenOperatorAttribute();
    const events = report([], state);
    expect(events.filter((e) => e.type === 'AttributeRemoved').map((e) => e.data.uuid)).toContain(attributeUuid);
  });
});

describe('deleting an attribute through the API', () => {
  it("removes an operator's attribute", () => {
    const state = givenOperatorAttribute();
    expect(decideDeleteAttribute({ hostname, uuid: attributeUuid }, state)).toEqual([
      {
        type: 'AttributeRemoved',
        data: { hostname, uuid: attributeUuid, deployableUuid: deployable, key: 'trait9' },
      },
    ]);
  });

  it("refuses the agent's: the host owns them, and its next report would bring them back", () => {
    const rc = agentAttributeUuid(hostname, deployableName, 'rc');
    expect(decideDeleteAttribute({ hostname, uuid: rc }, givenHost())).toMatchObject({
      kind: 'conflict',
      code: 'attribute_reported_by_agent',
      message: expect.stringContaining(`Attribute ${rc} (rc) is reported by the agent of host ${hostname}`),
    });
  });

  it('answers an unknown or already deleted attribute in Cyborg words', () => {
    const state = givenOperatorAttribute();
    const deleted = fold(decided(decideDeleteAttribute({ hostname, uuid: attributeUuid }, state)), evolveHost, state);
    expect(decideDeleteAttribute({ hostname, uuid: attributeUuid }, deleted)).toMatchObject({
      kind: 'not_found',
      message: `Attribute not found with uuid=${attributeUuid}`,
    });
  });
});
