/** Stream ids: `<category>-<id>`; the category names the JetStream subject family. */
export const Streams = {
  host: (hostname: string) => `host-${hostname}`,
  deviceProfile: (uuid: string) => `device_profile-${uuid}`,
  arq: (uuid: string) => `arq-${uuid}`,
} as const;
