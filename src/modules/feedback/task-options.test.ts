// The task options on POST /feedback/async with an Idempotency-Key: they are part of the submission,
// so a retry must send the same ones, and a post without any is fingerprinted as before they existed.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';
import { tasksModule } from '../tasks/index.js';
import { fingerprintOf } from './idempotency.js';
import { feedbackModule } from './index.js';

const input = { name: 'Ada', email: '', message: 'queued for later', rating: 4 };

describe('task options on keyed feedback posts', () => {
  const wy = suiteWorkyard(() => startTestWorkyard({}, { worker: false, modules: [tasksModule, feedbackModule] }));
  const post = (key: string, body: object) =>
    wy.workyard.app.inject({ method: 'POST', url: '/feedback/async', headers: { 'content-type': 'application/json', 'idempotency-key': key }, payload: JSON.stringify(body) });

  it('replays the answer to a retry with the same options, and refuses the key with other options (422)', async () => {
    const body = { message: 'queued for later', run_in_ms: 60_000, priority: 2 };
    const first = await post('options-key', body);
    expect(first.statusCode, first.body).toBe(202);
    const retry = await post('options-key', { priority: 2, run_in_ms: 60_000, message: 'queued for later' });
    expect(retry.statusCode).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json()).toEqual(first.json());
    const changed = await post('options-key', { ...body, priority: 9 });
    expect(changed.statusCode).toBe(422);
    expect(changed.json().error.code).toBe('idempotency_key_reused');
  });

  it('fingerprints a post without options as before the options existed', () => {
    expect(fingerprintOf('POST /feedback/async', input, {})).toBe(fingerprintOf('POST /feedback/async', input));
    expect(fingerprintOf('POST /feedback/async', input)).toBe(
      'POST /feedback/async sha256:' + createHash('sha256').update(JSON.stringify(['Ada', '', 'queued for later', 4])).digest('hex'),
    );
    expect(fingerprintOf('POST /feedback/async', input, { priority: 2 })).not.toBe(fingerprintOf('POST /feedback/async', input));
    expect(fingerprintOf('POST /feedback/async', input, { priority: 2, delayMs: 5 })).toBe(fingerprintOf('POST /feedback/async', input, { delayMs: 5, priority: 2 }));
  });
});
