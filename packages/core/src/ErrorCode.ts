/**
 * JSON-RPC error codes, stable across the journal, the wire, the CLI and the API.
 * Ranges follow the predecessor: -327xx JSON-RPC, -31xxx system, -30xxx provider, -29xxx task,
 * -28xxx workflow, -27xxx queue, -26xxx persistence, -25xxx network.
 */

/** Malformed input that could not be parsed. */
export const ParseError = -32700
/** A request that is not a valid request. */
export const InvalidRequest = -32600
/** The method does not exist. */
export const MethodNotFound = -32601
/** The params do not match the method's schema. */
export const InvalidParams = -32602
/** An internal error. */
export const Internal = -32603

/** The runtime is not initialized. */
export const NotInitialized = -31000
/** The runtime is shutting down. */
export const ShuttingDown = -31001
/** The configuration is invalid. */
export const Configuration = -31002
/** A resource limit was reached (payload size, memory, quota). */
export const ResourceExhausted = -31003
/** The caller is rate limited. */
export const RateLimited = -31004
/** The caller did not authenticate (no key, or an unknown one). */
export const Unauthenticated = -31005
/** The caller's key does not grant the operation. */
export const PermissionDenied = -31006
/** The request took longer than the server allows. */
export const RequestTimeout = -31007

/** No provider serves the protocol or method. */
export const ProviderNotFound = -30000
/** The provider cannot be reached. */
export const ProviderUnavailable = -30001
/** The provider is unhealthy (breaker open). */
export const ProviderUnhealthy = -30002
/** The provider did not answer in time. */
export const ProviderTimeout = -30003
/** The provider is overloaded. */
export const ProviderOverloaded = -30004
/** The provider does not support the method. */
export const MethodNotSupported = -30005
/** The provider answered with an error. */
export const ProviderFailure = -30006

/** The task failed validation. */
export const TaskValidation = -29000
/** The task's execution failed. */
export const TaskExecution = -29001
/** The task exceeded its timeout. */
export const TaskTimeout = -29002
/** The task was cancelled. */
export const TaskCancelled = -29003
/** A dependency of the task failed. */
export const DependencyFailed = -29004
/** A parameter reference could not be resolved. */
export const ParameterError = -29005
/** The task's retries are exhausted. */
export const RetryExhausted = -29006
/** The task does not exist. */
export const TaskNotFound = -29007

/** The workflow failed validation. */
export const WorkflowValidation = -28000
/** The workflow (or run) does not exist. */
export const WorkflowNotFound = -28001
/** The workflow's execution failed. */
export const WorkflowExecution = -28002
/** The workflow exceeded its deadline. */
export const WorkflowTimeout = -28003
/** The workflow was cancelled. */
export const WorkflowCancelled = -28004
/** The workflow's dependencies form a cycle. */
export const CircularDependency = -28005
/** The operation is not valid in the run's current state. */
export const InvalidState = -28006

/** The journal failed. */
export const Persistence = -26000
