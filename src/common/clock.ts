/** The time source; tests replace it to move time without sleeping. */
export abstract class Clock {
  abstract now(): Date;
}

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}

/**
 * A clock that reads a time it is given, for generating historical traffic (bulwark demo); the
 * system time until the first `set`.
 */
export class SimulatedClock extends Clock {
  private current?: number;

  set(timeMs: number): void {
    this.current = timeMs;
  }

  now(): Date {
    return this.current === undefined ? new Date() : new Date(this.current);
  }
}
