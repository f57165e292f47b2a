import { cyborgTimestamp } from '@cyborg/contracts';
import { pythonJsonDumps } from '@cyborg/drivers';

/** The API's own timestamp rule, so a past state reads like the API's answer then. */
export { cyborgTimestamp };

/*
 * The resources as the API returns them (Cyborg §5.1, §7.1, §8.1, §9.1, at
 * microversion 2.3), without `links`: those name the live resource, not the
 * state at a past moment.
 */

export interface ArqRecord {
  uuid: string;
  state: string;
  device_profile_name: string;
  device_profile_group_id: number;
  hostname: string | null;
  device_rp_uuid: string | null;
  instance_uuid: string | null;
  project_id: string | null;
  attach_handle_type: string;
  attach_handle_uuid: string | null;
  attach_handle_info: Record<string, string>;
  created_at: string;
  updated_at: string | null;
}

export interface DeviceRecord {
  uuid: string;
  type: string;
  vendor: string;
  model: string;
  std_board_info: string | null;
  vendor_board_info: string | null;
  hostname: string;
  status: string;
  created_at: string;
  updated_at: string | null;
}

export interface DeployableRecord {
  uuid: string;
  parent_id: number | null;
  root_id: number | null;
  name: string;
  num_accelerators: number;
  device_id: number | null;
  attributes_list: string;
  rp_uuid: string | null;
  driver_name: string | null;
  bitstream_id: string | null;
  created_at: string;
  updated_at: string | null;
}

export interface AttributeRecord {
  uuid: string;
  deployable_id: number | null;
  key: string;
  value: string;
  created_at: string;
  updated_at: string | null;
}

export const timestampOrNull = (value: Date | null): string | null => (value ? cyborgTimestamp(value) : null);

/** The driver's attach info JSON, parsed as the API shows it; anything unreadable is `{}`. */
export function attachInfo(text: string | null): Record<string, string> {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, String(value)]));
  } catch {
    return {};
  }
}

/** Upstream's `attributes_list`: `jsonutils.dumps` of one-key objects, in the order they were added. */
export function attributesList(attributes: readonly { key: string; value: string }[]): string {
  return `[${attributes.map((a) => pythonJsonDumps({ [a.key]: a.value })).join(', ')}]`;
}
