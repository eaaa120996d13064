import { UPCASTERS, UPCASTERS_MODULE } from './upcasters';

/**
 * The replay's fold threads load the upcasters from UPCASTERS_MODULE while the store reads
 * through UPCASTERS: a rebuilt read model equals the live one only if both are the same list.
 */
describe('UPCASTERS_MODULE', () => {
  it('names the module and export that hold UPCASTERS itself', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- what a fold thread does
    const loaded = (require(UPCASTERS_MODULE.file) as Record<string, unknown>)[
      UPCASTERS_MODULE.name
    ];
    expect(loaded).toBe(UPCASTERS);
  });
});
