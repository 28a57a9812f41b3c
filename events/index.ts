export * from './envelope.js';
export * from './registry.js';
export * from './source-attached.js';
export * from './statement-recorded.js';
export * from './statement-retracted.js';
export * from './vocabulary.js';
