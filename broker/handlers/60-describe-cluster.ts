// DescribeCluster (key 60). v1 adds the endpoint type: 1 asks for brokers; 2 (controllers) gets
// MISMATCHED_ENDPOINT_TYPE from a broker, as in Kafka, and anything else UNSUPPORTED_ENDPOINT_TYPE.
// Single broker: this node is the only broker and reports itself as the controller.
import { DescribeClusterApi, type DescribeClusterResponse } from '../../protocol/generated/describe-cluster.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'

const BROKERS_ENDPOINT = 1
const CONTROLLERS_ENDPOINT = 2
const NOT_REQUESTED = -2147483648
// CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE,
// CREATE_TOKENS, DESCRIBE_TOKENS: every cluster operation is allowed while there is no authorizer.
const ALL_CLUSTER_OPERATIONS = [5, 7, 8, 9, 10, 11, 12, 13, 14].reduce((acc, op) => acc | (1 << op), 0)

export default defineHandler({
  api: DescribeClusterApi,
  versions: [0, 1],
  handle(req, ctx): DescribeClusterResponse {
    const b = ctx.broker
    const response: DescribeClusterResponse = {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: req.endpointType,
      clusterId: b.clusterId,
      controllerId: b.nodeId,
      brokers: [{ brokerId: b.nodeId, host: ctx.session.listener.advertisedHost, port: ctx.session.listener.advertisedPort, rack: null }],
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? ALL_CLUSTER_OPERATIONS : NOT_REQUESTED,
    }
    if (req.endpointType !== BROKERS_ENDPOINT) {
      const controller = req.endpointType === CONTROLLERS_ENDPOINT
      response.errorCode = controller ? ErrorCode.MISMATCHED_ENDPOINT_TYPE : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE
      response.errorMessage = controller
        ? 'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER'
        : `Unsupported endpoint type ${req.endpointType}`
      response.controllerId = -1
      response.brokers = []
    }
    return response
  },
})
