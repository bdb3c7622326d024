// What one task has in hand at once: at most N downloads running, and downloaded images waiting
// for their pack (image-packs.ts) up to a byte budget. A download's slot is freed as soon as its
// bytes are in, not once they are stored: with the slot held through the pack's fsync, the
// downloads stood idle while each pack was made durable (500 images, bench:harvest alternated ×3:
// medians 456 / 368 / 412 ms holding the slot, 355 / 263 / 365 ms with four images in hand per slot).
export class DownloadSlots {
  private running = 0;
  private bytesHeld = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxDownloads: number,
    /** downloads wait while the images in hand hold more than this (one larger image still passes alone) */
    private readonly maxBytesHeld: number,
  ) {}

  /** Runs a download when a slot is free and the bytes in hand allow; its bytes are held until `release`. */
  async download<T extends { bytes: Buffer } | symbol>(work: () => Promise<T>): Promise<T> {
    // A waiter is handed its slot by wake() (running is counted for it there), first come first served.
    if (this.waiting.length === 0 && this.mayStart()) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let held = 0;
    try {
      const result = await work();
      if (typeof result !== 'symbol') held = result.bytes.length;
      return result;
    } finally {
      this.running--;
      this.bytesHeld += held;
      this.wake();
    }
  }

  /** The bytes of a download are stored (or dropped). */
  release(bytes: number): void {
    this.bytesHeld -= bytes;
    this.wake();
  }

  private mayStart(): boolean {
    return this.running < this.maxDownloads && this.bytesHeld <= this.maxBytesHeld;
  }

  /**
   * Starts as many waiters as may start now, and no more: waking every waiter on each change made
   * each of them check and wait again, a cost that grew with the waiters (bench:harvest: four
   * times the waiters, a third slower).
   */
  private wake(): void {
    while (this.waiting.length && this.mayStart()) {
      this.running++;
      this.waiting.shift()!();
    }
  }
}
