export * from './abi.js';
export * from './arch.js';
export * from './guest.js';
export * from './hypercalls.js';
export * from './policy.js';
export * from './sim.js';
export * from './snapshot.js';
