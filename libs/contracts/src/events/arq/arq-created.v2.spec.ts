import { EventTypeRegistry } from '@cyborg/event-store';
import { eventSchemas } from '../index';
import { ArqCreated, upcastArqCreatedV1 } from './arq-created.v2';

const v1 = (group: Record<string, string>) => ({
  uuid: '89ec9c4d-73b2-4aaf-9225-485945aa7162',
  deviceProfileUuid: '5518a925-1c2c-49a2-a8bf-0927d9456f3e',
  deviceProfileName: 'dp',
  deviceProfileGroupId: 0,
  deviceProfileGroup: group,
  projectId: 'p',
  createdAt: '2026-07-21T10:00:00.000Z',
});

describe('ArqCreated v1 → v2', () => {
  it("takes the group's one resource class, keeping every v1 field", () => {
    const data = v1({ 'resources:FPGA': '2', 'trait:CUSTOM_FAKE_DEVICE': 'required' });
    expect(upcastArqCreatedV1(data)).toEqual({ ...data, resourceClass: 'FPGA' });
  });

  it('gives null where v1 cannot say which unit the ARQ was: several classes, or none', () => {
    expect(upcastArqCreatedV1(v1({ 'resources:FPGA': '1', 'resources:CUSTOM_QAT': '1' })).resourceClass).toBeNull();
    expect(upcastArqCreatedV1(v1({ 'trait:CUSTOM_X': 'required' })).resourceClass).toBeNull();
    expect(upcastArqCreatedV1({ uuid: 'x' }).resourceClass).toBeNull();
  });

  it('is registered: the registry of every service reads a v1 event as v2', () => {
    const registry = EventTypeRegistry.from(eventSchemas);
    expect(registry.currentVersion(ArqCreated.type)).toBe(2);
    expect(registry.upcast(ArqCreated.type, 1, v1({ 'resources:PGPU': '1' }))).toEqual({
      schemaVersion: 2,
      data: { ...v1({ 'resources:PGPU': '1' }), resourceClass: 'PGPU' },
    });
  });
});
