import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AcceleratorDriver, Bitstream } from '@cyborg/drivers';
import { BitstreamError } from './bitstream-image';
import { createBitstreamSource } from './create-source';
import { programDeployable } from './program-deployable';

const data = Buffer.from('bitstream bytes '.repeat(1000));
const sha512 = createHash('sha512').update(data).digest('hex');
const md5 = createHash('md5').update(data).digest('hex');
let dir: string;
let server: Server;
let httpBase: string;

/** A driver that programs by reading the verified file, and remembers what it was given. */
function recordingDriver(answer: { ok: true } | { ok: false; reason: string } = { ok: true }) {
  const seen: { bitstream: Bitstream; bytes: Buffer }[] = [];
  const driver: AcceleratorDriver = {
    name: 'recording',
    discover: () => Promise.resolve({ devices: [], warnings: [] }),
    program: async (_deployable, bitstream) => {
      seen.push({ bitstream, bytes: await readFile(bitstream.path) });
      return answer;
    },
  };
  return { driver, seen };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstreams-spec-'));
  await writeFile(join(dir, 'good'), data);
  await writeFile(
    join(dir, 'good.json'),
    JSON.stringify({ os_hash_algo: 'sha512', os_hash_value: sha512, size: data.length, 'accel:function_id': 'f1' }),
  );
  await writeFile(join(dir, 'legacy'), data);
  await writeFile(join(dir, 'legacy.json'), JSON.stringify({ checksum: md5 }));
  await writeFile(join(dir, 'tampered'), Buffer.concat([data, Buffer.from('!')]));
  await writeFile(join(dir, 'tampered.json'), JSON.stringify({ os_hash_algo: 'sha512', os_hash_value: sha512 }));
  await writeFile(join(dir, 'unsigned'), data);
  await writeFile(join(dir, 'unsigned.json'), JSON.stringify({ 'accel:function_id': 'f2' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify([{ id: 'good', os_hash_algo: 'sha512', os_hash_value: sha512, 'accel:function_id': 'f1' }]),
  );
  server = createServer((request, response) => {
    const name = decodeURIComponent((request.url ?? '/').slice(1));
    readFile(join(dir, name)).then(
      (body) => response.writeHead(200).end(body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  httpBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe.each([
  ['a directory', () => pathToFileURL(dir).href],
  ['an HTTP server', () => httpBase],
])('bitstreams from %s', (_name, url) => {
  const signal = () => AbortSignal.timeout(5000);

  it('hands the driver a file whose digest was verified, then removes it', async () => {
    const { driver, seen } = recordingDriver();
    const outcome = await programDeployable(
      createBitstreamSource(url()),
      driver,
      'd',
      { bitstreamId: 'good', functionId: null },
      signal(),
    );
    expect(outcome).toMatchObject({
      ok: true,
      image: { id: 'good', functionId: 'f1', checksum: { algorithm: 'sha512', value: sha512 } },
    });
    expect(seen[0].bytes.equals(data)).toBe(true);
    expect(existsSync(seen[0].bitstream.path)).toBe(false);
  });

  it('finds a bitstream by its function', async () => {
    const image = await createBitstreamSource(url()).findByFunction('f1');
    expect(image.id).toBe('good');
  });

  it('refuses a tampered file, an image without checksum, and an unknown one; the driver is never called', async () => {
    const { driver, seen } = recordingDriver();
    const source = createBitstreamSource(url());
    const tampered = await programDeployable(
      source,
      driver,
      'd',
      { bitstreamId: 'tampered', functionId: null },
      signal(),
    );
    expect(tampered).toMatchObject({ ok: false, problem: 'checksum_mismatch' });
    const unsigned = await programDeployable(
      source,
      driver,
      'd',
      { bitstreamId: 'unsigned', functionId: null },
      signal(),
    );
    expect(unsigned).toMatchObject({ ok: false, problem: 'no_checksum' });
    const unknown = await programDeployable(
      source,
      driver,
      'd',
      { bitstreamId: 'nothing', functionId: null },
      signal(),
    );
    expect(unknown).toMatchObject({ ok: false, problem: 'not_found' });
    expect(seen).toHaveLength(0);
  });
});

describe('programDeployable', () => {
  it("verifies the legacy md5 when that is all an image has, and reports a driver's refusal as a failure", async () => {
    const { driver } = recordingDriver({ ok: false, reason: 'the card said no' });
    const source = createBitstreamSource(pathToFileURL(dir).href);
    const outcome = await programDeployable(
      source,
      driver,
      'd',
      { bitstreamId: 'legacy', functionId: null },
      AbortSignal.timeout(5000),
    );
    expect(outcome).toEqual({ ok: false, problem: 'driver', reason: 'the card said no' });
  });

  it('says when no source is configured or the driver cannot program', async () => {
    const { driver } = recordingDriver();
    expect(
      await programDeployable(null, driver, 'd', { bitstreamId: 'good', functionId: null }, AbortSignal.timeout(5000)),
    ).toMatchObject({ ok: false, problem: 'no_source' });
    const { program: _unused, ...plain } = driver;
    expect(
      await programDeployable(
        createBitstreamSource(httpBase),
        plain,
        'd',
        { bitstreamId: 'good', functionId: null },
        AbortSignal.timeout(5000),
      ),
    ).toMatchObject({ ok: false, problem: 'driver' });
  });

  it('refuses an unknown source URL at start', () => {
    expect(() => createBitstreamSource('ftp://x')).toThrow(/BITSTREAM_SOURCE/);
    expect(new BitstreamError('not_found', 'x').problem).toBe('not_found');
  });
});
