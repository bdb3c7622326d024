// Prints, after the run, every figure the tests recorded with recordFigures — one line per row —
// and a closing line with the totals CI logs are read for: faults injected and survived, inputs
// tried, 5xx seen, answers missing, data lost.
import type { Reporter, TestModule } from 'vitest/node';
import type { FigureRow } from './suite-figures.js';

/** Figures that add up across rows; the others (latencies, sizes) are per row only. */
const ADDITIVE = /^(faults|inputs|5xx|noAnswer|wrongAnswers|duplicates|.*Lost)$/;

export default class FiguresReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const rows: { row: FigureRow; passed: boolean }[] = [];
    for (const testModule of testModules) {
      for (const test of testModule.children.allTests()) {
        for (const row of test.meta().figures ?? []) rows.push({ row, passed: test.result().state === 'passed' });
      }
    }
    if (!rows.length) return;
    console.log('\nFigures');
    for (const { row, passed } of rows) {
      const { subject, ...figures } = row;
      console.log(`  ${passed ? 'ok ' : 'NO '} ${subject}: ${Object.entries(figures).map(([name, value]) => `${name} ${value}`).join(', ')}`);
    }
    const totals: Record<string, number> = {};
    for (const { row } of rows) {
      for (const [name, value] of Object.entries(row)) if (typeof value === 'number' && ADDITIVE.test(name)) totals[name] = (totals[name] ?? 0) + value;
    }
    const survived = rows.filter(({ passed }) => passed).reduce((sum, { row }) => sum + (typeof row.faults === 'number' ? row.faults : 0), 0);
    const parts = Object.entries(totals).filter(([name]) => name !== 'faults').map(([name, value]) => `${name} ${value}`);
    if (totals.faults !== undefined) parts.unshift(`faults injected ${totals.faults}, survived ${survived}`);
    console.log(`Totals: ${parts.join(', ')}; ${rows.filter(({ passed }) => passed).length} of ${rows.length} rows passed`);
  }
}
