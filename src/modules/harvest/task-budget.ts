// A task's budget: how long its downloads may go on and how many bytes they may take. Past it, no
// further image is fetched (those in flight finish, each bounded by its own timeouts); the rest are
// listed with the reason, and the task is done with what it has — a page of 5,000 images on a slow
// or paced host does not hold a worker for hours.

export interface TaskBudget {
  /** milliseconds from the task's start */
  ms?: number;
  bytes?: number;
}

export class BudgetTracker {
  private readonly deadline: number | null;
  private spent = 0;

  constructor(private readonly budget: TaskBudget | undefined, startedAt = Date.now()) {
    this.deadline = budget?.ms !== undefined ? startedAt + budget.ms : null;
  }

  spend(bytes: number): void {
    this.spent += bytes;
  }

  /** Why nothing more may be fetched, or null while the budget lasts. */
  exceeded(now = Date.now()): string | null {
    if (this.deadline !== null && now >= this.deadline) return `not fetched: the task's time budget of ${this.budget!.ms} ms ran out`;
    if (this.budget?.bytes !== undefined && this.spent >= this.budget.bytes) return `not fetched: the task's budget of ${this.budget.bytes} bytes was spent`;
    return null;
  }
}
