/** svcproxy: Kubernetes-style Service forwarding for Linux, one API over four modes. */
export { open, detectAll, ServiceProxy, type OpenOptions, type ApplyOptions, type ApplyResult, type ServiceChange } from './api/proxy.js';
export { SvcproxyError } from './errors.js';
export * from './model/index.js';
export * from './plan/index.js';
export type { Dataplane, DataplaneOptions, Capability, Mode, ApplyStats } from './dataplanes/types.js';
export type { ModeTraits } from './dataplanes/traits.js';
export { MODES } from './dataplanes/types.js';
export { startAgent, type StartAgentOptions, type AgentHandle, type AgentStatus } from './agent/agent.js';
export type { AgentConfigInput } from './agent/config.js';
