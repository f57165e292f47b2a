import { BadRequestException } from '@nestjs/common';
import { MarkerNotFoundError } from '@cyborg/projections';
import { MAX_PAGE_SIZE, pagingOf, readPage } from './paging';

describe('paging query parameters', () => {
  it('takes a positive limit, and caps it at the page size', () => {
    expect(pagingOf({ limit: '25' }).page).toEqual({ limit: 25 });
    expect(pagingOf({ limit: String(MAX_PAGE_SIZE + 1) }).page).toEqual({ limit: MAX_PAGE_SIZE });
    expect(pagingOf({ limit: '99999999999999999999' }).page).toEqual({ limit: MAX_PAGE_SIZE });
    expect(pagingOf({}).page).toEqual({});
  });

  it.each(['0', '-3', 'ten', '2.5', '', '1e3', '000'])('refuses limit=%p, naming it', (limit) => {
    expect(() => pagingOf({ limit })).toThrow(
      new BadRequestException(
        `Invalid input for field/attribute limit. Value: '${limit}'. Value should be a positive integer.`,
      ),
    );
  });

  it('takes a uuid-like marker in its canonical form, and refuses anything else as not found', () => {
    expect(pagingOf({ marker: '5C3F0D2E7D0C4F439D841B0F3F0B5E61' }).page).toEqual({
      marker: '5c3f0d2e-7d0c-4f43-9d84-1b0f3f0b5e61',
    });
    expect(() => pagingOf({ marker: 'nope' })).toThrow(new BadRequestException('Marker nope not found'));
  });

  it("turns a marker the read model does not know into a 400 with the client's own words", async () => {
    const paging = pagingOf({ marker: '5C3F0D2E-7D0C-4F43-9D84-1B0F3F0B5E61' });
    await expect(readPage(paging, () => Promise.reject(new MarkerNotFoundError(paging.page.marker!)))).rejects.toThrow(
      new BadRequestException('Marker 5C3F0D2E-7D0C-4F43-9D84-1B0F3F0B5E61 not found'),
    );
  });
});
