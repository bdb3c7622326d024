// The CLI's small readers and writers, apart from any server: event blocks, progress, tables, times.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadClientConfig } from '../config.js';
import { parseEventBlock } from './api-client.js';
import { formatDuration, formatTable, parseTimeOption, trimCell } from './table.js';
import { describeProgress } from './task-view.js';

describe('CLI formats', () => {
  it('reads an event block: its name, data over several lines, and skips comments and retry lines', () => {
    expect(parseEventBlock('event: progress\ndata: {"progress":{"done":2,"total":5}}')).toEqual({ event: 'progress', data: { progress: { done: 2, total: 5 } } });
    expect(parseEventBlock(': keep-alive')).toBeNull();
    expect(parseEventBlock('retry: 1000')).toBeNull();
    expect(parseEventBlock('data: first\ndata: second')).toEqual({ event: 'message', data: 'first\nsecond' });
    expect(parseEventBlock('event:task\ndata:{"id":"a"}')).toEqual({ event: 'task', data: { id: 'a' } });
  });

  it('reads progress as a percentage, a count of a total, or the numbers it has', () => {
    expect(describeProgress(42)).toEqual({ value: 42, total: 100, text: '42%' });
    expect(describeProgress(140)).toMatchObject({ value: 100 });
    expect(describeProgress({ done: 3, total: 8 })).toEqual({ value: 3, total: 8, text: 'done 3, total 8' });
    // A traffic run's progress: sent of n.
    expect(describeProgress({ n: 100, sent: 40, ok: 39, failed: 1 })).toEqual({ value: 40, total: 100, text: 'n 100, sent 40, ok 39, failed 1' });
    expect(describeProgress({ stage: 'parsing' })).toEqual({ value: null, total: null, text: 'stage parsing' });
    expect(describeProgress(null)).toEqual({ value: null, total: null, text: '' });
  });

  it('aligns columns, numbers to the right, without trailing spaces', () => {
    const table = formatTable([{ header: 'NAME' }, { header: 'N', align: 'right' }, { header: 'NOTE' }], [
      ['compute.sum', '7', ''],
      ['x', '1234', 'late'],
    ]);
    expect(table).toBe(['NAME            N  NOTE', 'compute.sum     7', 'x            1234  late'].join('\n'));
  });

  it('trims an error to one line, and says durations as a person would', () => {
    expect(trimCell('a\n  b\tc', 10)).toBe('a b c');
    expect(trimCell('x'.repeat(20), 10)).toBe(`${'x'.repeat(9)}…`);
    expect([850, 12_345, 240_000, 9_000_000, 259_200_000].map(formatDuration)).toEqual(['850 ms', '12.3 s', '4.0 min', '2.5 h', '3.0 d']);
    expect(formatDuration(null)).toBe('-');
  });

  it('takes a time option as RFC 3339 or as a span before now', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    expect(parseTimeOption('2h', now)).toBe('2026-12-04T10:00:00.000Z');
    expect(parseTimeOption('30m', now)).toBe('2026-12-04T11:30:00.000Z');
    expect(parseTimeOption('7d', now)).toBe('2026-11-27T12:00:00.000Z');
    expect(parseTimeOption('2026-01-31T09:00:00Z', now)).toBe('2026-01-31T09:00:00Z');
  });

  it('finds the server: WORKYARD_URL, else this machine at WORKYARD_PORT, else port 8080', () => {
    expect(loadClientConfig({})).toEqual({ url: 'http://127.0.0.1:8080', apiKey: undefined });
    expect(loadClientConfig({ WORKYARD_PORT: '9001', WORKYARD_API_KEY: ' k ' })).toEqual({ url: 'http://127.0.0.1:9001', apiKey: 'k' });
    expect(loadClientConfig({ WORKYARD_PORT: '9001', WORKYARD_URL: 'https://jobs.example.com/workyard' }).url).toBe('https://jobs.example.com/workyard');
    // A server's setting the client does not read does not stop it.
    expect(loadClientConfig({ WORKYARD_LOG_LEVEL: 'chatty' }).url).toBe('http://127.0.0.1:8080');
    expect(() => loadClientConfig({ WORKYARD_URL: 'ftp://x' })).toThrow(ConfigError);
    expect(() => loadClientConfig({ WORKYARD_URL: 'ftp://x' })).toThrow(/WORKYARD_URL/);
  });
});
