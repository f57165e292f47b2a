import { isConnectionFailure } from './connection-failure';
import { unstorableTextAt } from './storable-text';

describe('a dependency out of reach', () => {
  it.each([
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    Object.assign(new Error('query failed'), { driverError: { code: '08006' } }),
    new Error('Connection terminated unexpectedly'),
    Object.assign(new Error('released'), { name: 'QueryRunnerProviderAlreadyReleasedError' }),
  ])('is told apart from a broken request: %s', (error) => {
    expect(isConnectionFailure(error)).toBe(true);
  });

  it.each([
    new Error('duplicate key value violates unique constraint'),
    Object.assign(new Error('invalid input syntax for type uuid'), { code: '22P02' }),
    'ECONNREFUSED',
    null,
  ])('is not what any other failure is: %s', (error) => {
    expect(isConnectionFailure(error)).toBe(false);
  });
});

describe('text PostgreSQL cannot store', () => {
  it('is found where it is, in keys and values, however deep', () => {
    expect(unstorableTextAt({ a: [{ b: 'ok' }, { c: 'x\u0000' }] })).toBe('a[1].c');
    expect(unstorableTextAt({ ['k\ud800']: 1 })).toBe('k\ud800');
    expect(unstorableTextAt('\udc00')).toBe('(value)');
    let deep: unknown = 'bad\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(unstorableTextAt(deep)).toMatch(/^(\[0\])+$/);
  });

  it('is not any other unicode', () => {
    expect(unstorableTextAt({ name: 'Ω≈ç √ 🚀 \u202e', list: ['\ud83d\ude80', 1, null, true] })).toBeNull();
  });
});
