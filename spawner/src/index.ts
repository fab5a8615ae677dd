export * from './spawner.js';
