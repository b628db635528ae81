#!/usr/bin/env node
// Runs the TypeScript CLI without a build step: tsx's ESM loader is registered first, then main.ts is imported.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../services/cli/main.ts');
await main();
