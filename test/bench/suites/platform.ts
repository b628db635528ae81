export const platformSuite = { name: 'platform', description: 'todo', async run() { return []; } };
