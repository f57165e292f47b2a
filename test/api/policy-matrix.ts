import { randomUUID } from 'node:crypto';
import {
  ARQ_VISIBILITY,
  type Authenticate,
  type Authenticated,
  ENDPOINTS,
  persona,
  type PersonaName,
  PERSONAS,
} from './personas';

/** A running API and how its personas authenticate (noauth headers, or Keystone tokens). */
export interface MatrixTarget {
  apiUrl: string;
  authenticate: Authenticate;
}

interface Answer {
  status: number;
  text: string;
  json: () => unknown;
}

/**
 * Registers the persona matrix: every guarded endpoint as every persona
 * (a denial is 403 naming the rule; anything else below 500 means policy let
 * the request through), then whose ARQs, histories, events and usage each
 * persona sees. `start` runs in beforeAll; the same tables hold for any way
 * of authenticating.
 */
export function definePolicyMatrix(start: () => Promise<MatrixTarget>): void {
  let target: MatrixTarget;
  const identities = new Map<PersonaName, Authenticated>();
  const projectOf = (name: PersonaName) => identities.get(name)!.projectId;

  const call = async (as: PersonaName, method: string, path: string, body?: unknown): Promise<Answer> => {
    const response = await fetch(`${target.apiUrl}${path}`, {
      method,
      headers: { ...identities.get(as)!.headers, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, text, json: () => JSON.parse(text) };
  };

  beforeAll(async () => {
    target = await start();
    for (const p of PERSONAS) identities.set(p.name, await target.authenticate(p));
  });

  const cases = ENDPOINTS.flatMap((endpoint) =>
    PERSONAS.map((p) => [endpoint.rule, p.name, endpoint.allowed.includes(p.name), endpoint] as const),
  );

  describe('every rule, every persona', () => {
    it.each(cases)('%s as %s: allowed=%s', async (rule, name, allowed, endpoint) => {
      const answer = await call(name, endpoint.method, endpoint.path({ projectOf }), endpoint.body?.());
      const deniedByPolicy =
        answer.status === 403 &&
        [rule, endpoint.after].some(
          (r) => r && answer.text.includes(`Access was denied to the following resource: ${r}`),
        );
      expect({ status: answer.status, deniedByPolicy }).toEqual({
        status: allowed ? expect.any(Number) : 403,
        deniedByPolicy: !allowed,
      });
      expect(answer.status).toBeLessThan(500);
    });
  });

  describe("another project's ARQs, histories and events are invisible; the admin sees every project's", () => {
    const arqs = { own: '', other: '' };
    const profile = `matrix-${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      const made = await call('admin', 'POST', '/v2/device_profiles', [
        { name: profile, groups: [{ 'resources:FPGA': '1' }] },
      ]);
      expect(made.status).toBe(201);
      for (const [which, by] of [
        ['own', 'member'],
        ['other', 'other project member'],
      ] as const) {
        const created = await call(by, 'POST', '/v2/accelerator_requests', { device_profile_name: profile });
        expect(created.status).toBe(201);
        arqs[which] = (created.json() as { arqs: { uuid: string }[] }).arqs[0].uuid;
      }
    });

    const personaCases = PERSONAS.map((p) => [p.name, ARQ_VISIBILITY[p.name]] as const);

    it.each(personaCases)('%s: %j', async (name, expected) => {
      const seen: Record<string, unknown> = {};
      for (const which of ['own', 'other'] as const) {
        const uuid = arqs[which];
        const one = await call(name, 'GET', `/v2/accelerator_requests/${uuid}`);
        const list = await call(name, 'GET', '/v2/accelerator_requests');
        const history = await call(name, 'GET', `/v2/accelerator_requests/${uuid}/history`);
        const events = await call(name, 'GET', `/v2/events?stream=arq-${uuid}`);
        const listed = (answer: Answer, key: string, match: (item: Record<string, unknown>) => boolean) =>
          answer.status === 200 ? (answer.json() as Record<string, Record<string, unknown>[]>)[key].some(match) : null;
        seen[which] = {
          one: one.status,
          listed: listed(list, 'arqs', (arq) => arq.uuid === uuid),
          history: history.status,
          events: listed(events, 'events', (event) => event.stream_id === `arq-${uuid}`),
        };
      }
      const sees = (visible: boolean) => ({
        one: visible ? 200 : 404,
        listed: visible,
        history: visible ? 200 : 404,
        events: visible,
      });
      const refused = { one: 403, listed: null, history: 403, events: null };
      expect(seen).toEqual(
        expected === 'denied'
          ? { own: refused, other: refused }
          : { own: sees(expected.own), other: sees(expected.other) },
      );
    });

    it("keeps every project's usage to the admin; a project reads its own", async () => {
      const other = projectOf('other project member');
      const status = async (name: PersonaName, path: string) => (await call(name, 'GET', path)).status;
      for (const name of ['manager', 'member', 'reader'] as const) {
        expect({
          name,
          own: await status(name, '/v2/usage'),
          other: await status(name, `/v2/usage?project_id=${other}`),
        }).toEqual({ name, own: 200, other: 403 });
        const events = await call(name, 'GET', `/v2/events?project_id=${other}`);
        expect(events.text).toContain('cyborg:event:get_all_projects');
      }
      const mine = (await call('member', 'GET', '/v2/usage')).json() as { projects: { project_id: string }[] };
      expect(mine.projects.every((p) => p.project_id === projectOf('member'))).toBe(true);
      expect(await status('admin', `/v2/usage?project_id=${other}`)).toBe(200);
      expect(await status('admin', `/v2/events?project_id=${other}`)).toBe(200);
      expect(persona('admin').project).toBe('own'); // the cloud admin is an admin of a project
    });
  });
}
