// The load generator, in its own process: autocannon's API with the settings passed as one JSON argument,
// printing autocannon's result as JSON. (Its CLI mangles header values such as `1.0`, so the API is used.)
import autocannon from 'autocannon';

const settings = JSON.parse(process.argv[2] ?? '{}');
const result = await autocannon({ ...settings, idReplacement: true });
process.stdout.write(
  `${JSON.stringify({ duration: result.duration, '2xx': result['2xx'], non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts })}\n`,
);
