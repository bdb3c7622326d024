// Prints, after the run, every figure the tests recorded with recordFigures: one table per suite,
// with a total line, so CI logs show faults survived, inputs tried and 5xx seen.
import type { Reporter, TestModule } from 'vitest/node';
import type { FigureRow } from './suite-figures.js';

export default class FiguresReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const rows: (FigureRow & { passed: string })[] = [];
    for (const testModule of testModules) {
      for (const test of testModule.children.allTests()) {
        for (const row of test.meta().figures ?? []) rows.push({ ...row, passed: test.result().state === 'passed' ? 'yes' : 'NO' });
      }
    }
    if (!rows.length) return;
    console.log('\nFigures');
    console.table(rows);
    const totals: Record<string, number> = {};
    for (const row of rows) {
      for (const [name, value] of Object.entries(row)) if (typeof value === 'number') totals[name] = (totals[name] ?? 0) + value;
    }
    const failed = rows.filter((row) => row.passed !== 'yes').length;
    console.log(`Totals: ${Object.entries(totals).map(([name, value]) => `${name} ${value}`).join(', ')}; ${rows.length - failed} of ${rows.length} rows passed`);
  }
}
