import { MmesidError, Rng } from '@mmesid/tensor';

/** One (history, target) training pair, e.g. `@mmesid/datasets`' `Example` from `leaveOneOut(dataset).train`. */
export interface TrainingPair {
  readonly user: number;
  readonly history: ArrayLike<number>;
  readonly target: number;
}

/** The unit of the efficient mode: one user's sequence and the pairs read from it. */
export interface SequenceUnit {
  readonly user: number;
  /** The items fed to the LLM: the longest history of the user's pairs. */
  readonly items: ArrayLike<number>;
  /** For each pair: its history length t (the history is `items[0..t)`). */
  readonly prefixLengths: number[];
  readonly targets: number[];
}

/**
 * Groups training pairs by user for the efficient mode: the user's longest history is fed once and
 * every pair is read at its prefix. Every shorter history must be a prefix of the longest (true for
 * the leave-one-out split, whose histories are views of one sequence).
 *
 * @throws MmesidError naming the user whose histories are not prefixes of one sequence
 */
export function groupBySequence(pairs: readonly TrainingPair[]): SequenceUnit[] {
  const byUser = new Map<number, TrainingPair[]>();
  for (const p of pairs) {
    const list = byUser.get(p.user);
    if (list) list.push(p);
    else byUser.set(p.user, [p]);
  }
  const units: SequenceUnit[] = [];
  for (const [user, list] of byUser) {
    let longest = list[0]!.history;
    for (const p of list) if (p.history.length > longest.length) longest = p.history;
    for (const p of list)
      for (let i = 0; i < p.history.length; i++)
        if (p.history[i] !== longest[i])
          throw new MmesidError(
            `efficient mode: user ${user} has a history that is not a prefix of their longest one (position ${i}); feed such data in paper mode`,
          );
    units.push({
      user,
      items: longest,
      prefixLengths: list.map((p) => p.history.length),
      targets: list.map((p) => p.target),
    });
  }
  return units;
}

/**
 * The training budget of `trainMmeSid`: with `maxUsers`, every pair of a seeded choice of that many
 * users; then, with `maxExamples`, a seeded choice of that many of those pairs (input order kept).
 */
export function selectTrainingPairs(
  pairs: readonly TrainingPair[],
  opts: { maxUsers?: number | undefined; maxExamples?: number | undefined; seed: number },
): readonly TrainingPair[] {
  let chosen = pairs;
  if (opts.maxUsers !== undefined) {
    const users = [...new Set(pairs.map((p) => p.user))];
    if (opts.maxUsers < users.length) {
      const keep = new Set(new Rng(`users:${opts.seed}`).shuffle(users).slice(0, opts.maxUsers));
      chosen = pairs.filter((p) => keep.has(p.user));
    }
  }
  if (opts.maxExamples !== undefined && opts.maxExamples < chosen.length) {
    const from = chosen;
    const idx = new Rng(`subset:${opts.seed}`).shuffle(Array.from(from.keys())).slice(0, opts.maxExamples);
    idx.sort((a, b) => a - b);
    chosen = idx.map((i) => from[i]!);
  }
  return chosen;
}
