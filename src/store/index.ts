export { ServiceStore, type ServiceChange, type StoreOptions, type StoreTransaction } from './store.js';
export { AppliedList } from './applied.js';
