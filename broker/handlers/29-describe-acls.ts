// DescribeAcls (key 29). v1 adds resource pattern types; v2 is flexible; v3 adds the USER resource
// type. v0 is not served (removed in Kafka 4.0). There is no authorizer, so, as Kafka does without
// one, every request is answered with SECURITY_DISABLED and no resources.
import { DescribeAclsApi, type DescribeAclsResponse } from '../../protocol/generated/describe-acls.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'

export default defineHandler({
  api: DescribeAclsApi,
  versions: [1, 3],
  handle(): DescribeAclsResponse {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.SECURITY_DISABLED,
      errorMessage: 'No Authorizer is configured.',
      resources: [],
    }
  },
})
