/**
 * The CLI as a child process for timing tests: runs `main` on the arguments and, when the process exits, writes to
 * stderr how long it lived after `main` started (`eoplock-test: lived N ms`), so the test measures the command and
 * what keeps the event loop alive afterwards, not the time tsx takes to load.
 */
import { main } from '../../src/cli/main.js';

const started = performance.now();
process.on('exit', () => process.stderr.write(`eoplock-test: lived ${Math.round(performance.now() - started)} ms\n`));
process.exitCode = await main(process.argv.slice(2));
