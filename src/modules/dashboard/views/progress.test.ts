import { describe, expect, it } from 'vitest';
import { progressFigures } from './progress.js';

describe('a task progress as the dashboard shows it', () => {
  it('reads a number as a percentage, kept within 0 to 100', () => {
    expect(progressFigures(37)).toEqual({ kind: 'fraction', percent: 37, label: '37 %' });
    expect(progressFigures(2.5)).toEqual({ kind: 'fraction', percent: 2.5, label: '2.5 %' });
    expect(progressFigures(140)).toMatchObject({ percent: 100, label: '100 %' });
    expect(progressFigures(-3)).toMatchObject({ percent: 0 });
  });

  it('reads done out of a total, and a traffic run as answered (ok + failed) out of n', () => {
    expect(progressFigures({ done: 3, total: 12 })).toEqual({ kind: 'fraction', percent: 25, label: '3 / 12' });
    expect(progressFigures({ n: 2000, sent: 1500, ok: 990, failed: 10 })).toEqual({ kind: 'fraction', percent: 50, label: '1,000 / 2,000' });
  });

  it('shows anything else as short text, and nothing for an empty report', () => {
    expect(progressFigures({ phase: 'download' })).toEqual({ kind: 'text', text: 'phase: download' });
    expect(progressFigures({ phase: 'download', page: 'https://example.org/a/long/path' })).toEqual({ kind: 'text', text: 'phase: download, page: https://example.…' });
    expect(progressFigures({ done: 3, total: 0 })).toEqual({ kind: 'text', text: 'done: 3, total: 0' });
    expect(progressFigures({})).toEqual({ kind: 'none' });
  });
});
