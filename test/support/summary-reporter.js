// Prints one plain closing line that any CI reader understands.
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests } = results;
    console.log(`\njest: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests} skipped`);
  }
}
