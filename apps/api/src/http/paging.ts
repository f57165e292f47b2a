import { BadRequestException } from '@nestjs/common';
import { canonicalUuid } from '@cyborg/domain';
import { MarkerNotFoundError, type PageRequest } from '@cyborg/projections';

/** The most items one page holds; a larger `limit` is taken as this, as Nova does with its `max_limit`. */
export const MAX_PAGE_SIZE = 1000;

/** The query parameters of paging, for `strictQuery`'s list of what a list endpoint takes. */
export const PAGING_PARAMS = ['limit', 'marker'] as const;

/**
 * `limit` and `marker` as openstacksdk sends them (`?limit=N&marker=<uuid of
 * the last item>`, until a page comes back empty). Upstream Cyborg rejects
 * both; we page instead, in each list's own stable order. Without them a
 * list is whole, as before.
 */
export interface Paging {
  page: PageRequest;
  /** The marker as the client wrote it, for the error message. */
  rawMarker?: string;
}

export function pagingOf(query: { limit?: string; marker?: string }): Paging {
  const page: PageRequest = {};
  if (query.limit !== undefined) {
    const text = query.limit.trim();
    const limit = Number(text);
    // Any number of digits: a huge limit is simply the cap.
    if (!/^\d+$/.test(text) || limit < 1) {
      throw new BadRequestException(
        `Invalid input for field/attribute limit. Value: '${query.limit}'. Value should be a positive integer.`,
      );
    }
    page.limit = Math.min(limit, MAX_PAGE_SIZE);
  }
  if (query.marker !== undefined) {
    const marker = canonicalUuid(query.marker.trim());
    // Every list is of uuid-named items: anything else names none of them.
    if (!marker) throw markerNotFound(query.marker);
    page.marker = marker;
  }
  return { page, rawMarker: query.marker };
}

/** Runs a paged read; a marker that names no visible item is the client's mistake (400), as in Nova. */
export async function readPage<T>(paging: Paging, read: (page: PageRequest) => Promise<T>): Promise<T> {
  try {
    return await read(paging.page);
  } catch (error) {
    if (error instanceof MarkerNotFoundError) throw markerNotFound(paging.rawMarker ?? error.marker);
    throw error;
  }
}

const markerNotFound = (marker: string) => new BadRequestException(`Marker ${marker} not found`);
