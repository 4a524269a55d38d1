// DescribeCluster (key 60). v1 adds the endpoint type: 1 asks for brokers; 2 (controllers) gets
// MISMATCHED_ENDPOINT_TYPE from a broker, as in Kafka, and anything else UNSUPPORTED_ENDPOINT_TYPE.
// Single broker: this node is the only broker and reports itself as the controller. Cluster mode:
// every live broker registered in etcd, and the elected controller (-1 while there is none). The cluster's
// authorized operations are the caller's (0 without DESCRIBE on the cluster).
import { DescribeClusterApi, type DescribeClusterResponse } from '../../protocol/generated/describe-cluster.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { clusterAuthorizedOperations, OPERATIONS_NOT_REQUESTED } from '../acls/authorize.js'

const BROKERS_ENDPOINT = 1
const CONTROLLERS_ENDPOINT = 2

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
      controllerId: b.cluster ? b.cluster.image.controllerId : b.nodeId,
      brokers: b.cluster
        ? b.cluster.brokersFor(ctx.listenerName).map((x) => ({ brokerId: x.nodeId, host: x.host, port: x.port, rack: x.rack }))
        : [{ brokerId: b.nodeId, host: ctx.session.listener.advertisedHost, port: ctx.session.listener.advertisedPort, rack: null }],
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? clusterAuthorizedOperations(ctx) : OPERATIONS_NOT_REQUESTED,
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
