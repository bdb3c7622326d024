// One Workyard for a describe block: started before its tests, closed after them. (A file of its
// own: workyard.ts is also loaded by the benches, outside vitest.)
import { afterAll, beforeAll } from 'vitest';
import type { TestWorkyard } from './workyard.js';

/**
 * Call inside describe; the object it returns is filled in by beforeAll, so read it in tests only.
 * `afterClose` ends what `start` set up for the Workyard (a server, a database), once it is closed.
 */
export function suiteWorkyard(start: () => Promise<TestWorkyard>, afterClose?: () => unknown): TestWorkyard {
  const wy = {} as TestWorkyard;
  beforeAll(async () => {
    Object.assign(wy, await start());
  });
  afterAll(async () => {
    await wy.close?.();
    await afterClose?.();
  });
  return wy;
}
