export * from './changes.js';
export * from './position.js';
export * from './statement-record.js';
export * from './time.js';
export * from './timeline.js';
