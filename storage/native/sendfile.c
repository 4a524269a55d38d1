// sendfile(2) for Node: sends a range of a file to a socket without copying it through user
// memory. One synchronous, non-blocking call: the socket is Node's own (O_NONBLOCK), so the call
// sends what the socket's buffer takes now and returns; the caller waits for the socket to become
// writable again through Node's own write path. The event loop never blocks on a slow reader.
//
//   sendfile(socketFd, fileFd, position, length) -> bytes sent (0 when the socket is full: EAGAIN)
//   throws an Error with .code (EPIPE, ECONNRESET, EBADF, ...) on any other failure.
#include <errno.h>
#include <string.h>
#include <node_api.h>

#if defined(__linux__)
#include <sys/sendfile.h>
#define HAVE_SENDFILE 1
#endif

static napi_value throw_errno(napi_env env, int err) {
  napi_value msg, code, error;
  const char *name = "EIO";
  switch (err) {
    case EPIPE: name = "EPIPE"; break;
    case ECONNRESET: name = "ECONNRESET"; break;
    case EBADF: name = "EBADF"; break;
    case EINVAL: name = "EINVAL"; break;
    case ENOTCONN: name = "ENOTCONN"; break;
    case ENOMEM: name = "ENOMEM"; break;
    case EOVERFLOW: name = "EOVERFLOW"; break;
    case ESPIPE: name = "ESPIPE"; break;
    default: break;
  }
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &error);
  napi_value errnoValue, syscall;
  napi_create_int32(env, -err, &errnoValue);
  napi_set_named_property(env, error, "errno", errnoValue);
  napi_create_string_utf8(env, "sendfile", NAPI_AUTO_LENGTH, &syscall);
  napi_set_named_property(env, error, "syscall", syscall);
  napi_throw(env, error);
  return NULL;
}

static napi_value Sendfile(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4) {
    napi_throw_type_error(env, NULL, "sendfile(socketFd, fileFd, position, length)");
    return NULL;
  }
  int32_t outFd, inFd;
  int64_t position, length;
  if (napi_get_value_int32(env, argv[0], &outFd) != napi_ok || napi_get_value_int32(env, argv[1], &inFd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &position) != napi_ok || napi_get_value_int64(env, argv[3], &length) != napi_ok ||
      outFd < 0 || inFd < 0 || position < 0 || length < 0) {
    napi_throw_type_error(env, NULL, "sendfile(socketFd, fileFd, position, length): non-negative integers");
    return NULL;
  }
#ifdef HAVE_SENDFILE
  off_t offset = (off_t)position;
  ssize_t n;
  do {
    n = sendfile(outFd, inFd, &offset, (size_t)length);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) n = 0;
    else return throw_errno(env, errno);
  }
  napi_value result;
  napi_create_int64(env, (int64_t)n, &result);
  return result;
#else
  return throw_errno(env, ENOSYS);
#endif
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  napi_create_function(env, "sendfile", NAPI_AUTO_LENGTH, Sendfile, NULL, &fn);
  napi_set_named_property(env, exports, "sendfile", fn);
  return exports;
}
