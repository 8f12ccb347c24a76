export { Coordinator } from "./coordinator.ts";
export type { CoordinatorOptions, CheckOptions, CheckOutcome, BatchCheckOutcome, TravellerOutcome } from "./coordinator.ts";
export { Gatherer } from "./gatherer.ts";
export type { GatheredResult, GatherRequest } from "./gatherer.ts";
export { BatchGatherer } from "./batch-gatherer.ts";
export type { BatchGatherRequest, BatchGatherOutcome } from "./batch-gatherer.ts";
export { coordinatorGrpcBinding, COORDINATOR_SERVICE_NAME } from "./grpc-service.ts";
export { CoordinatorMetrics } from "./coordinator-metrics.ts";
