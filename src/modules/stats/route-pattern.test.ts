import { describe, expect, it } from 'vitest';
import { routeFolder } from './route-pattern.js';

describe('route patterns', () => {
  const fold = routeFolder(['/users/:name/', '/files/:file']);

  it.each([
    ['/api/product/17/', '/api/product/:id/'],
    ['/api/product/17', '/api/product/:id'],
    ['/api/order/3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b/items/2/', '/api/order/:id/items/:id/'],
    ['/blob/5d41402abc4b2a76b9719d911017c592', '/blob/:id'],
    ['/news/2026-12-05/', '/news/:id/'],
    ['/users/ada/', '/users/:name/'],
    ['/files/report.pdf', '/files/:file'],
    ['/files/a/b', '/files/a/b'],
    ['/api/v2/', '/api/v2/'],
    ['/api/deadbeefdeadbeefdead/', '/api/deadbeefdeadbeefdead/'],
    ['/', '/'],
    ['/users//', '/users//'],
  ])('%s → %s', (path, pattern) => {
    expect(fold(path)).toBe(pattern);
  });
});
