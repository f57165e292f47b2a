import { AuditInputError } from './errors';
import { parseEventFilter } from './events-query';
import { diff } from './history';
import { parseMoment, parseTime } from './moments';
import { type BindInterval, parseUsagePeriod, summarizeUsage } from './usage';

describe('reading an operator’s filters', () => {
  it('splits lists, parses times and positions, and drops what was not given', () => {
    expect(
      parseEventFilter({
        type: 'ArqBound, ArqUnbound',
        since: '2026-11-21T09:30',
        until: '2026-11-22',
        from_position: '10',
        project_id: ' p1 ',
        hostname: '',
      }),
    ).toEqual({
      types: ['ArqBound', 'ArqUnbound'],
      since: new Date('2026-11-21T09:30:00Z'),
      until: new Date('2026-11-22T00:00:00Z'),
      fromPosition: 10,
      projectId: 'p1',
    });
  });

  it.each([
    [{ since: 'yesterday' }, /since must be an ISO 8601 time/],
    [{ since: '2026-11-22', until: '2026-11-21' }, /since must be before until/],
    [{ from_position: '-1' }, /from_position must be a log position/],
    [{ from_position: '5', to_position: '4' }, /from_position must not be after to_position/],
    [{ type: ' , ' }, /type needs at least one value/],
    [{ user_id: 'x'.repeat(256) }, /longer than 255/],
  ])('refuses %j', (params, message) => {
    expect(() => parseEventFilter(params)).toThrow(AuditInputError);
    expect(() => parseEventFilter(params)).toThrow(message);
  });

  it('takes digits as a log position and anything else as a time', () => {
    expect(parseMoment('1234')).toEqual({ kind: 'position', position: 1234 });
    expect(parseMoment('2026-11-21T09:30:00+01:00')).toEqual({ kind: 'time', at: new Date('2026-11-21T08:30:00Z') });
    expect(() => parseTime('21/11/2026', 'at')).toThrow(/at must be an ISO 8601 time/);
  });
});

describe('usage from bind intervals', () => {
  const at = (hour: number) => new Date(Date.UTC(2026, 10, 21, hour));
  const interval = (projectId: string, start: number, end: number | null, extra: Partial<BindInterval> = {}) => ({
    arqUuid: `${projectId}-${start}`,
    projectId,
    resourceClass: 'FPGA',
    deviceUuid: 'd1',
    deployableUuid: 'dep1',
    hostname: 'h',
    start: at(start),
    end: end === null ? null : at(end),
    ...extra,
  });
  const catalog = {
    deviceTypes: new Map([
      ['d1', 'FPGA'],
      ['d2', 'GPU'],
    ]),
    resourceClasses: new Map([['dep2', 'PGPU']]),
  };

  it('clips each interval to the period and counts what is held at its end', () => {
    const report = summarizeUsage(
      [
        interval('p', 1, 3), // 1h inside [2, 6)
        interval('p', 4, null), // 2h, still held
        interval('p', 7, 8), // after the period
        interval('q', 0, 1), // before it
      ],
      { since: at(2), until: at(6) },
      catalog,
      at(12),
    );
    expect(report.projects).toEqual([
      {
        project_id: 'p',
        accelerators_held: 1,
        devices_held: 1,
        binds: 2,
        accelerator_hours: 3,
        resources: [
          {
            resource_class: 'FPGA',
            device_type: 'FPGA',
            accelerators_held: 1,
            devices_held: 1,
            binds: 2,
            accelerator_hours: 3,
          },
        ],
      },
    ]);
  });

  it("takes the deployable's resource class when the ARQ names none, and groups by class and device type", () => {
    const report = summarizeUsage(
      [
        interval('p', 0, null, { resourceClass: null, deviceUuid: 'd2', deployableUuid: 'dep2' }),
        interval('p', 0, null, { resourceClass: null, deviceUuid: 'd9', deployableUuid: 'dep9' }),
      ],
      { since: at(0), until: at(1) },
      catalog,
      at(12),
    );
    expect(report.projects[0].resources.map((r) => [r.resource_class, r.device_type, r.accelerator_hours])).toEqual([
      ['PGPU', 'GPU', 1],
      ['unknown', 'unknown', 1],
    ]);
  });

  it('counts what is still bound until now when the period ends later', () => {
    const report = summarizeUsage([interval('p', 1, null)], { since: at(0), until: at(10) }, catalog, at(3));
    expect(report.projects[0]).toMatchObject({ accelerators_held: 1, accelerator_hours: 2 });
  });

  it('defaults to the last 24 hours and refuses an empty period', () => {
    const { since, until } = parseUsagePeriod({});
    expect(until.getTime() - since.getTime()).toBe(24 * 3600 * 1000);
    expect(() => parseUsagePeriod({ since: '2026-11-21', until: '2026-11-21' })).toThrow(/since must be before until/);
  });
});

it('diffs two snapshots field by field, a missing field as null', () => {
  expect(diff({ exists: false }, { exists: true, state: 'Initial', groups: [1] })).toEqual({
    exists: { from: false, to: true },
    state: { from: null, to: 'Initial' },
    groups: { from: null, to: [1] },
  });
  expect(diff({ held_by: ['a'] }, { held_by: ['a'] })).toEqual({});
  expect(diff({ exists: true, state: 'Unbound' }, { exists: false })).toEqual({ exists: { from: true, to: false } });
});
