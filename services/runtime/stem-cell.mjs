// A pre-started generic replica process (a "stem cell", as OpenWhisk calls it): plain `node` that has already paid
// for its own start-up and waits for the supervisor to name a function. On `es:load` it takes the replica's
// environment and working directory and imports the transpiled entry, which serves the function and reports
// `es:listening`/`es:ready` over this same IPC channel, exactly as a freshly spawned replica does.
// Kept tiny and free of imports: everything loaded here is start-up cost paid by every pool process.

const onDisconnect = () => process.exit(0);

async function load(message) {
  if (message?.type !== 'es:load') return;
  process.off('message', load);
  // From here on the served function's own handler (the SDK's drain on disconnect) takes over.
  process.off('disconnect', onDisconnect);
  for (const key of Object.keys(process.env)) if (!(key in message.env)) delete process.env[key];
  Object.assign(process.env, message.env);
  process.chdir(message.cwd);
  process.argv[1] = message.entry;
  const { pathToFileURL } = await import('node:url');
  await import(pathToFileURL(message.entry).href);
}

process.on('disconnect', onDisconnect);
process.on('message', load);
process.send({ type: 'es:stem-ready' });
