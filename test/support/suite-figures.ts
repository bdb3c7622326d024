// Figures a suite reports at the end of its run (faults injected and survived, inputs tried, 5xx
// seen). A test attaches them to its own task; figures-reporter.ts adds them up and prints them.

export interface FigureRow {
  /** what the row is about: a route ("POST /feedback/{form}") or a fault case */
  subject: string;
  [figure: string]: string | number;
}

declare module 'vitest' {
  interface TaskMeta {
    figures?: FigureRow[];
  }
}

export function recordFigures(task: { meta: { figures?: FigureRow[] } }, rows: FigureRow[]): void {
  task.meta.figures = [...(task.meta.figures ?? []), ...rows];
}
