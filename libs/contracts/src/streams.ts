import { createHash } from 'node:crypto';

/** Stream ids: `<category>-<id>`; the category names the JetStream subject family. */
export const Streams = {
  host: (hostname: string) => `host-${hostname}`,
  deviceProfile: (uuid: string) => `device_profile-${uuid}`,
  deviceProfileName,
  arq: (uuid: string) => `arq-${uuid}`,
  instance: (uuid: string) => `instance-${uuid}`,
  /** What a project's ARQs count against its quota limits. */
  quota: (projectId: string) => `quota-${projectId}`,
} as const;

const MAX_STREAM_ID = 255;

/**
 * `device_profile_name-<name>`: who holds a device-profile name. Creates
 * append to it with an expected version, so one name has one owner.
 * Names too long for a stream id are hashed; `.` never occurs in a valid
 * name, so a hashed id cannot collide with a plain one.
 */
function deviceProfileName(name: string): string {
  const plain = `device_profile_name-${name}`;
  if (plain.length <= MAX_STREAM_ID) return plain;
  return `device_profile_name-sha256.${createHash('sha256').update(name).digest('hex')}`;
}
