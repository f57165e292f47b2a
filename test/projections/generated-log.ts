import type { AppendRequest, Checkpoint, EventStore, NewEvent } from '@cyborg/event-store';

/** A small seeded generator (mulberry32): the same seed gives the same log. */
export function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick<T>(items: readonly T[]): T {
      return items[Math.floor(next() * items.length)];
    },
    chance: (p: number) => next() < p,
  };
}

type Random = ReturnType<typeof random>;

const uuidOf = (kind: number, seed: number, i: number) =>
  `${(kind * 0x1000 + i).toString(16).padStart(8, '0')}-${(seed & 0xffff).toString(16).padStart(4, '0')}-4000-8000-${i
    .toString(16)
    .padStart(12, '0')}`;

/** Keys the generator may name: a few of each, so that adds, changes and removals meet. */
class Pool {
  readonly all: string[];
  readonly live = new Set<string>();
  constructor(kind: number, seed: number, size: number) {
    this.all = Array.from({ length: size }, (_, i) => uuidOf(kind, seed, i));
  }
  /** Any key, present or not, sometimes one that never existed. */
  any(r: Random): string {
    return r.pick(this.all);
  }
  /** A key that is not present now (a new one or one removed before), or null if all are. */
  free(r: Random): string | null {
    const free = this.all.filter((k) => !this.live.has(k));
    return free.length ? r.pick(free) : null;
  }
}

const ODD_TEXT = [
  'plain',
  'with "quotes" and \\ backslash',
  'ünïcödé ✓',
  '',
  '{"json":"inside text"}',
  'tab\tnewline\n',
];
const TIMES = [
  '2025-01-01T00:00:00Z',
  '2025-06-30T23:59:59.123456Z',
  '2025-03-01T05:00:00.5+02:00',
  '2024-02-29T12:00:00-07:30',
];

/**
 * A log for the three read models with every event type they follow, in an
 * order no domain rule would produce: changes to rows that are gone or never
 * were, keys removed and added again, links to rows added later, to
 * themselves or to nothing, text that JSON must escape, timestamps with
 * microseconds and offsets. It never adds a key twice while present (that
 * fails one by one as in a batch, tested apart).
 */
export function generateLog(seed: number, events: number): AppendRequest[] {
  const r = random(seed);
  const hosts = ['host-a', 'host-b.example', 'host-c'];
  const devices = new Pool(1, seed, 10);
  const deployables = new Pool(2, seed, 14);
  const handles = new Pool(3, seed, 14);
  const attributes = new Pool(4, seed, 14);
  const profiles = new Pool(5, seed, 8);
  const arqs = new Pool(6, seed, 12);
  const appends: AppendRequest[] = [];
  let written = 0;

  const maybeNull = <T>(value: T) => (r.chance(0.2) ? null : value);
  const hostnameOf = (uuid: string) => hosts[parseInt(uuid.slice(-2), 16) % hosts.length];

  const hostEvent = (): NewEvent | null => {
    switch (r.int(20)) {
      case 0:
      case 1: {
        const uuid = devices.free(r);
        if (!uuid) return null;
        devices.live.add(uuid);
        return {
          type: 'DeviceAdded',
          data: {
            hostname: hostnameOf(uuid),
            uuid,
            controlPath: `PCI:0000:${uuid.slice(-2)}:00.0`,
            type: r.pick(['FPGA', 'GPU', 'QAT']),
            vendor: r.pick(['8086', '10de']),
            model: r.pick(ODD_TEXT),
            stdBoardInfo: maybeNull('{"controller":"x"}'),
            vendorBoardInfo: maybeNull(r.pick(ODD_TEXT)),
            driverName: 'fake',
          },
        };
      }
      case 2:
        return {
          type: 'DeviceUpdated',
          data: {
            hostname: r.pick(hosts),
            uuid: devices.any(r),
            controlPath: 'x',
            type: 'GPU',
            vendor: r.pick(ODD_TEXT),
            model: 'm2',
            stdBoardInfo: maybeNull('{}'),
            vendorBoardInfo: null,
            driverName: r.pick(['fake', 'nvidia']),
          },
        };
      case 3:
        return { type: r.pick(['DeviceDisabled', 'DeviceEnabled', 'DeviceDraining']), data: { uuid: devices.any(r) } };
      case 4: {
        const uuid = devices.any(r);
        devices.live.delete(uuid);
        return { type: 'DeviceRemoved', data: { uuid, hostname: hostnameOf(uuid) } };
      }
      case 5:
      case 6: {
        const uuid = deployables.free(r);
        if (!uuid) return null;
        deployables.live.add(uuid);
        return {
          type: 'DeployableAdded',
          data: {
            hostname: r.pick(hosts),
            uuid,
            deviceUuid: devices.any(r),
            name: `dep_${r.pick(ODD_TEXT)}`,
            parentUuid: r.chance(0.4) ? null : r.chance(0.2) ? uuid : deployables.any(r),
            rootUuid: r.chance(0.4) ? null : deployables.any(r),
            numAccelerators: r.int(8),
            rpUuid: uuidOf(9, seed, r.int(100)),
            driverName: maybeNull('fake'),
          },
        };
      }
      case 7: {
        const uuid = deployables.any(r);
        return {
          type: 'DeployableUpdated',
          data: {
            hostname: r.pick(hosts),
            uuid,
            deviceUuid: devices.any(r),
            name: 'n',
            parentUuid: r.chance(0.3) ? null : r.chance(0.3) ? uuid : deployables.any(r),
            rootUuid: r.chance(0.5) ? null : deployables.any(r),
            numAccelerators: r.int(4),
            rpUuid: uuidOf(9, seed, r.int(100)),
            driverName: maybeNull('fake2'),
          },
        };
      }
      case 8:
        return r.chance(0.5)
          ? { type: 'DeployableDraining', data: { uuid: deployables.any(r) } }
          : {
              type: 'DeployableProgrammed',
              data: {
                hostname: r.pick(hosts),
                uuid: deployables.any(r),
                name: 'n',
                bitstreamId: uuidOf(11, seed, r.int(5)),
                functionId: null,
                functionTrait: null,
                checksum: { algorithm: 'sha256', value: 'ab' },
                arqUuid: maybeNull(arqs.any(r)),
              },
            };
      case 9: {
        const uuid = deployables.any(r);
        deployables.live.delete(uuid);
        return { type: 'DeployableRemoved', data: { uuid } };
      }
      case 10:
      case 11: {
        const uuid = handles.free(r);
        if (!uuid) return null;
        handles.live.add(uuid);
        return {
          type: 'AttachHandleAdded',
          data: {
            hostname: r.pick(hosts),
            uuid,
            deployableUuid: deployables.any(r),
            deviceUuid: devices.any(r),
            type: r.pick(['PCI', 'MDEV', 'TEST_PCI']),
            info: `{"bus":"${r.int(255)}","note":${JSON.stringify(r.pick(ODD_TEXT))}}`,
          },
        };
      }
      case 12: {
        const type = r.pick([
          'AttachHandleUpdated',
          'AttachHandleAllocated',
          'AttachHandleReleased',
          'AttachHandleDraining',
        ]);
        return {
          type,
          data: {
            uuid: handles.any(r),
            deviceUuid: devices.any(r),
            arqUuid: arqs.any(r),
            deployableUuid: deployables.any(r),
          },
        };
      }
      case 13: {
        const uuid = handles.any(r);
        handles.live.delete(uuid);
        return { type: 'AttachHandleRemoved', data: { uuid } };
      }
      case 14:
      case 15: {
        const uuid = attributes.free(r);
        if (!uuid) return null;
        attributes.live.add(uuid);
        return {
          type: 'AttributeAdded',
          data: {
            hostname: r.pick(hosts),
            uuid,
            deployableUuid: deployables.any(r),
            key: r.pick(['rc', 'trait0', 'trait1']),
            value: r.pick(ODD_TEXT),
            source: r.pick(['agent', 'api']),
          },
        };
      }
      case 16:
        return { type: 'AttributeUpdated', data: { uuid: attributes.any(r), value: r.pick(ODD_TEXT) } };
      case 17: {
        const uuid = attributes.any(r);
        attributes.live.delete(uuid);
        return { type: 'AttributeRemoved', data: { uuid } };
      }
      case 18: {
        const uuid = devices.any(r);
        const kind = r.pick(['health', 'release'] as const);
        if (kind === 'health') {
          const to = r.pick(['healthy', 'degraded', 'unhealthy'] as const);
          return {
            type: 'DeviceHealthChanged',
            data: {
              hostname: hostnameOf(uuid),
              uuid,
              controlPath: r.pick(ODD_TEXT),
              from: r.pick(['healthy', 'degraded', 'unhealthy'] as const),
              to,
              reasons: to === 'healthy' ? [] : [{ code: 'xid', message: r.pick(ODD_TEXT), evidence: { xid: 79 } }],
              fenced: to === 'unhealthy' || r.chance(0.2),
            },
          };
        }
        return { type: 'DeviceFenceReleased', data: { hostname: hostnameOf(uuid), uuid } };
      }
      default:
        // A host event no read model follows: batches skip over it.
        return { type: 'InventoryReported', data: { hostname: r.pick(hosts), generation: r.int(9) } };
    }
  };

  const profileEvent = (): NewEvent | null => {
    if (r.chance(0.6)) {
      const uuid = profiles.free(r);
      if (!uuid) return null;
      profiles.live.add(uuid);
      return {
        type: 'DeviceProfileCreated',
        data: {
          uuid,
          name: `profile-${uuid.slice(-4)}`,
          description: maybeNull(r.pick(ODD_TEXT)),
          groups: [{ 'resources:FPGA': '1', [`trait:CUSTOM_${r.int(3)}`]: 'required' }, { note: r.pick(ODD_TEXT) }],
          createdAt: r.pick(TIMES),
        },
      };
    }
    const uuid = profiles.any(r);
    profiles.live.delete(uuid);
    return { type: 'DeviceProfileDeleted', data: { uuid, name: 'n' } };
  };

  const arqEvent = (): NewEvent | null => {
    const bind = () => ({
      uuid: arqs.any(r),
      attempt: 1 + r.int(3),
      hostname: r.pick(hosts),
      deviceRpUuid: uuidOf(9, seed, r.int(100)),
      instanceUuid: uuidOf(10, seed, r.int(100)),
      projectId: maybeNull(`project-${r.int(3)}`),
    });
    switch (r.int(7)) {
      case 0:
      case 1: {
        const uuid = arqs.free(r);
        if (!uuid) return null;
        arqs.live.add(uuid);
        return {
          type: 'ArqCreated',
          data: {
            uuid,
            deviceProfileUuid: profiles.any(r),
            deviceProfileName: r.pick(ODD_TEXT),
            deviceProfileGroupId: r.int(3),
            deviceProfileGroup: { 'resources:FPGA': '1', 'accel:note': r.pick(ODD_TEXT) },
            projectId: maybeNull('project-1'),
            createdAt: r.pick(TIMES),
          },
        };
      }
      case 2:
        return {
          type: 'ArqBindStarted',
          data: {
            ...bind(),
            attachHandle: { uuid: handles.any(r), type: 'PCI', info: r.pick(ODD_TEXT) },
            deadline: r.pick(TIMES),
          },
        };
      case 3:
        return {
          type: 'ArqBound',
          data: {
            uuid: arqs.any(r),
            attempt: 1,
            attachHandleUuid: handles.any(r),
            attachHandleType: 'MDEV',
            attachHandleInfo: r.pick(ODD_TEXT),
          },
        };
      case 4:
        return {
          type: 'ArqBindFailed',
          data: { ...bind(), reason: r.pick(ODD_TEXT), holdsAttachHandle: r.chance(0.5) },
        };
      case 5:
        if (r.chance(0.3)) {
          const health = r.pick(['healthy', 'degraded', 'unhealthy'] as const);
          return {
            type: 'ArqDeviceHealthChanged',
            data: {
              uuid: arqs.any(r),
              hostname: r.pick(hosts),
              deviceUuid: devices.any(r),
              attachHandleUuid: handles.any(r),
              health,
              reasons: health === 'healthy' ? [] : [{ code: 'aer_fatal', message: r.pick(ODD_TEXT) }],
            },
          };
        }
        return { type: 'ArqUnbound', data: { uuid: arqs.any(r), releasedAttachHandleUuid: null } };
      default: {
        const uuid = arqs.any(r);
        arqs.live.delete(uuid);
        return { type: 'ArqDeleted', data: { uuid, releasedAttachHandleUuid: null } };
      }
    }
  };

  while (written < events) {
    const kind = r.int(10);
    const n = 1 + r.int(4);
    const batch: NewEvent[] = [];
    let streamId: string;
    if (kind < 6) {
      streamId = `host-${r.pick(hosts)}`;
      for (let i = 0; i < n; i++) {
        const e = hostEvent();
        if (e) batch.push(e);
      }
    } else if (kind < 7) {
      streamId = `device_profile-${seed}-${written}`;
      const e = profileEvent();
      if (e) batch.push(e);
    } else {
      streamId = `arq-${seed}-${r.int(5)}`;
      for (let i = 0; i < n; i++) {
        const e = arqEvent();
        if (e) batch.push(e);
      }
    }
    if (batch.length === 0) continue;
    appends.push({ streamId, expectedVersion: 'any', events: batch });
    written += batch.length;
  }
  return appends;
}

/** Appends the generated log, each request in its own transaction as commands would; returns where it ends. */
export async function appendLog(store: EventStore, log: AppendRequest[]): Promise<Checkpoint> {
  let last: Checkpoint | null = null;
  for (const request of log) last = (await store.append([request])).checkpoint ?? last;
  if (!last) throw new Error('nothing appended');
  return last;
}
