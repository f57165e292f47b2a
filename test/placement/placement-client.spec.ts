import { randomUUID } from 'node:crypto';
import { PlacementClient, PlacementError, PlacementErrorCodes, PlacementUnreachableError } from '@cyborg/placement';
import { CountingProxy, PLACEMENT_START_TIMEOUT_MS, TestPlacement } from '../support/placement';

/** The Placement client against a real Placement 8.0: microversion, errors, generation conflicts, names. */
let placement: TestPlacement;
let proxy: CountingProxy;
let client: PlacementClient;
let root: string;

const inventory = (total: number, reserved = 0) => ({
  total,
  reserved,
  min_unit: 1,
  max_unit: total,
  step_size: 1,
  allocation_ratio: 1.0,
});

// The first start on a machine installs python3-placement with apt-get.
beforeAll(async () => {
  placement = await TestPlacement.start();
  proxy = await CountingProxy.start(placement.url);
  client = new PlacementClient({ url: proxy.url, conflictBackoffMs: 1 });
  root = randomUUID();
  await client.createProvider({ uuid: root, name: `client-cn-${root.slice(0, 6)}`, parentProviderUuid: null });
}, PLACEMENT_START_TIMEOUT_MS);

afterAll(async () => {
  await proxy?.stop();
  await placement?.stop();
});

it('creates nested providers and finds them by name, uuid and tree (microversion 1.39)', async () => {
  const uuid = randomUUID();
  const created = await client.createProvider({ uuid, name: `child ${uuid}`, parentProviderUuid: root });
  expect(created).toMatchObject({ uuid, generation: 0, parent_provider_uuid: root, root_provider_uuid: root });
  expect(await client.findProviderByName(`child ${uuid}`)).toMatchObject({ uuid });
  expect(await client.getProvider(uuid)).toMatchObject({ uuid });
  expect((await client.listTree(root)).map((p) => p.uuid).sort()).toEqual([root, uuid].sort());
  expect(await client.getProvider(randomUUID())).toBeNull();
  expect(await client.listTree(randomUUID())).toEqual([]);
});

it("throws every refusal with Placement's code, detail and request id", async () => {
  const uuid = randomUUID();
  await client.createProvider({ uuid, name: `refused-${uuid}`, parentProviderUuid: root });
  const error = (await client
    .putInventories(uuid, 0, { CUSTOM_NEVER_CREATED: inventory(1) })
    .catch((e: unknown) => e)) as PlacementError;
  expect(error).toBeInstanceOf(PlacementError);
  expect(error).toMatchObject({ status: 400, method: 'PUT', path: `/resource_providers/${uuid}/inventories` });
  expect(error.detail).toMatch(/No such resource class CUSTOM_NEVER_CREATED/);
  expect(error.requestId).toMatch(/^req-[0-9a-f-]{36}$/);
  expect(error.message).toContain(error.requestId!);

  const duplicate = await client
    .createProvider({ uuid: randomUUID(), name: `refused-${uuid}`, parentProviderUuid: root })
    .catch((e: unknown) => e as PlacementError);
  expect(duplicate).toMatchObject({ status: 409, code: PlacementErrorCodes.duplicateName });

  const unreachable = new PlacementClient({ url: 'http://127.0.0.1:9', timeoutMs: 1000 });
  await expect(unreachable.getProvider(uuid)).rejects.toBeInstanceOf(PlacementUnreachableError);
});

it('retries a write whose generation another writer moved, from a fresh read', async () => {
  const uuid = randomUUID();
  const created = await client.createProvider({ uuid, name: `conflict-${uuid}`, parentProviderUuid: root });
  // Someone else writes traits after our read: the generation we hold is stale.
  await placement.call('PUT', `/resource_providers/${uuid}/traits`, {
    resource_provider_generation: created.generation,
    traits: ['HW_CPU_X86_AVX2'],
  });
  const conflictsBefore = client.counters.conflicts;
  const write = await client.updateInventories(uuid, () => ({ FPGA: inventory(2) }), {
    generation: created.generation,
    inventories: {},
  });
  expect(write).toMatchObject({ changed: true, conflicts: 1, generation: 2 });
  expect(client.counters.conflicts).toBe(conflictsBefore + 1);
  expect((await client.getInventories(uuid)).inventories).toEqual({ FPGA: inventory(2) });
  // The other writer's traits are untouched.
  expect((await client.getProviderTraits(uuid)).traits).toEqual(['HW_CPU_X86_AVX2']);
});

it('gives up after a bounded number of conflicts', async () => {
  const uuid = randomUUID();
  await client.createProvider({ uuid, name: `storm-${uuid}`, parentProviderUuid: root });
  const bump = async () => {
    const { body } = await placement.call<{ resource_provider_generation: number; traits: string[] }>(
      'GET',
      `/resource_providers/${uuid}/traits`,
    );
    await placement.call('PUT', `/resource_providers/${uuid}/traits`, {
      resource_provider_generation: body.resource_provider_generation,
      traits: body.traits.length ? [] : ['HW_CPU_X86_AVX2'],
    });
  };
  const isWrite = (method: string, path: string) =>
    method === 'PUT' && path === `/resource_providers/${uuid}/inventories`;
  for (let i = 0; i < 5; i++) proxy.interceptOnce(isWrite, bump);
  const error = await client.updateInventories(uuid, () => ({ FPGA: inventory(1) })).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PlacementError);
  expect((error as PlacementError).isConcurrentUpdate).toBe(true);
  expect(proxy.calls.filter((c) => isWrite(c.method, c.path))).toHaveLength(5);
});

it('writes nothing when the provider already holds the wanted value', async () => {
  const uuid = randomUUID();
  await client.createProvider({ uuid, name: `same-${uuid}`, parentProviderUuid: root });
  await client.updateTraits(uuid, () => ['OWNER_CYBORG']);
  const from = proxy.calls.length;
  const again = await client.updateTraits(uuid, () => ['OWNER_CYBORG']);
  expect(again).toMatchObject({ changed: false, conflicts: 0 });
  expect(proxy.since(from, 'writes')).toEqual([]);
});

it('creates missing custom traits and resource classes once, and never standard ones', async () => {
  const trait = `CUSTOM_T_${randomUUID().slice(0, 8).toUpperCase()}`;
  const rc = `CUSTOM_RC_${randomUUID().slice(0, 8).toUpperCase()}`;
  await client.ensureTraits([trait, 'OWNER_CYBORG']);
  await client.ensureResourceClass(rc);
  await client.ensureResourceClass('FPGA');
  expect((await placement.call('GET', `/traits/${trait}`)).status).toBe(204);
  expect((await placement.call('GET', `/resource_classes/${rc}`)).status).toBe(200);
  const from = proxy.calls.length;
  await client.ensureTraits([trait, 'OWNER_CYBORG']);
  await client.ensureResourceClass(rc);
  expect(proxy.since(from)).toEqual([]);
});

it('tells which consumers hold a provider', async () => {
  const uuid = randomUUID();
  const created = await client.createProvider({ uuid, name: `used-${uuid}`, parentProviderUuid: root });
  await client.putInventories(uuid, created.generation, { FPGA: inventory(2) });
  expect(await client.providerConsumers(uuid)).toEqual([]);
  const consumer = randomUUID();
  const put = await placement.call('PUT', `/allocations/${consumer}`, {
    allocations: { [uuid]: { resources: { FPGA: 1 } } },
    project_id: 'p',
    user_id: 'u',
    consumer_generation: null,
    consumer_type: 'INSTANCE',
  });
  expect(put.status).toBe(204);
  expect(await client.providerConsumers(uuid)).toEqual([consumer]);
  const error = await client.deleteProvider(uuid).catch((e: unknown) => e);
  expect(error).toMatchObject({ status: 409, code: PlacementErrorCodes.providerInUse });
});
