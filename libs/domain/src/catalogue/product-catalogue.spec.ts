import { findProduct, PRODUCT_CATALOGUE } from './product-catalogue';

describe('product catalogue', () => {
  it('R7: exactly the six products of the article cancel through self-service', () => {
    expect(
      PRODUCT_CATALOGUE.filter((p) => p.selfServiceCancellation).map((p) => p.productId),
    ).toEqual([
      'goto-meeting',
      'goto-webinar',
      'goto-training',
      'openvoice',
      'gotoassist-rs-v5',
      'gotoassist-rs-v4',
    ]);
  });

  it('R7: the catalogue holds the 18 product ids of the API, each once', () => {
    const ids = PRODUCT_CATALOGUE.map((p) => p.productId);
    expect(ids).toHaveLength(18);
    expect(new Set(ids).size).toBe(18);
    expect(findProduct('hamachi')?.selfServiceCancellation).toBe(false);
    expect(findProduct('nope')).toBeUndefined();
  });

  it('R18: only GoTo Room carries room hardware', () => {
    expect(PRODUCT_CATALOGUE.filter((p) => p.roomHardware).map((p) => p.productId)).toEqual([
      'goto-room',
    ]);
  });
});
