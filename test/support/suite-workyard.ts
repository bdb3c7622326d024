// One Workyard for a describe block: started before its tests, closed after them. (A file of its
// own: workyard.ts is also loaded by the benches, outside vitest.)
import { afterAll, beforeAll } from 'vitest';
import type { TestWorkyard } from './workyard.js';

/** Call inside describe; the object it returns is filled in by beforeAll, so read it in tests only. */
export function suiteWorkyard(start: () => Promise<TestWorkyard>): TestWorkyard {
  const wy = {} as TestWorkyard;
  beforeAll(async () => {
    Object.assign(wy, await start());
  });
  afterAll(() => wy.close?.());
  return wy;
}
