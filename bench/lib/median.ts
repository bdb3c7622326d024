// The middle value of a benchmark's rounds (the upper middle of an even count): the figure a
// bench reports when the same measurement was taken several times on a noisy machine.
export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
