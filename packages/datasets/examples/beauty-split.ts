// Loads the authors' Beauty files, prints the load report, makes the authors' leave-one-out split
// and one training batch. From packages/datasets:
//   pnpm exec tsx --conditions=source --import ../../tooling/scripts/tsx-hooks.mjs examples/beauty-split.ts [path/to/datasets/beauty]
import {
  datasetReport,
  exampleBatches,
  formatReport,
  itemFrequency,
  leaveOneOut,
  loadAuthorsDataset,
  normalizedLogFrequency,
  splitReport,
} from '@mmesid/datasets';

const dir = process.argv[2] ?? '../../../shared/datasets/beauty';
const beauty = await loadAuthorsDataset(dir);
const split = leaveOneOut(beauty); // the authors' split; leaveOneOut(beauty, { maxHistory: 50 }) for SASRec
console.log(formatReport(datasetReport(beauty), splitReport(split)));

// The frequency feature of the frequency-aware fusion, from the training targets only.
const freq = itemFrequency(split.train, beauty.numItems);
const feature = normalizedLogFrequency(freq);
console.log(`item 1: ${freq[1]} training targets, normalised log frequency ${feature[1]!.toFixed(4)}`);

// One left-padded batch as the authors build them (minimum width 2), with one negative per row.
const [batch] = exampleBatches(split.train, {
  batchSize: 4,
  seed: 0,
  minLength: 2,
  maxHistory: 8,
  negatives: 1,
  numItems: beauty.numItems,
});
for (let r = 0; r < batch!.size; r++) {
  const row = batch!.history.ids.subarray(r * batch!.history.cols, (r + 1) * batch!.history.cols);
  console.log(
    `user ${beauty.userIds[batch!.users[r]!]}: [${row.join(' ')}] -> ${batch!.targets[r]} ` +
      `(${beauty.items[batch!.targets[r]!]?.title}); negative ${batch!.negatives[r]}`,
  );
}
