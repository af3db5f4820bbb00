// One import point for the sshd_config readers, planners and renderers.
export * from './parse.js';
export * from './includes.js';
export * from './match.js';
export * from './conflicts.js';
export * from './render.js';
export * from './placement.js';
export * from './effective.js';
