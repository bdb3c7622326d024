// How many blobs there are and how many bytes they take. A driver with a running total answers
// through stats(); without it, one listing page is counted and the figure is a lower bound.
import type { BlobStore } from '../../../infra/blobstore/contract.js';

export interface BlobTotals {
  driver: string;
  count: number;
  bytes: number;
  /** false when counted from one listing page: there are more blobs than counted */
  exact: boolean;
}

export const LISTING_LIMIT = 1000;

export async function readBlobTotals(store: BlobStore): Promise<BlobTotals> {
  if (store.stats) return { driver: store.driver, ...(await store.stats()), exact: true };
  const page = await store.list({ limit: LISTING_LIMIT });
  return {
    driver: store.driver,
    count: page.items.length,
    bytes: page.items.reduce((sum, item) => sum + item.size, 0),
    exact: page.nextCursor === null,
  };
}
