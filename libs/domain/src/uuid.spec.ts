import { canonicalUuid, isUuidLike } from './uuid';

describe('telling a uuid from a name, as oslo.utils does', () => {
  it('takes any case, dashes or none, braces and urn:uuid:', () => {
    const canonical = '5518a925-1c2c-49a2-a8bf-0927d9456f3e';
    for (const spelling of [
      canonical,
      canonical.toUpperCase(),
      canonical.replace(/-/g, ''),
      `{${canonical}}`,
      `urn:uuid:${canonical}`,
    ]) {
      expect(canonicalUuid(spelling)).toBe(canonical);
    }
  });

  it('treats anything else as a name', () => {
    for (const name of [
      'fpga-dp1',
      '5518a925-1c2c-49a2-a8bf-0927d9456f3',
      '5518a925-1c2c-49a2-a8bf-0927d9456f3g',
      '',
    ]) {
      expect(isUuidLike(name)).toBe(false);
    }
  });
});
