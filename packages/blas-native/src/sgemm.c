// N-API binding of OpenBLAS's cblas_sgemm over Float32Arrays, with no copies: the arrays may be
// views of tfjs-backend-wasm's heap (a WebAssembly.Memory buffer), so C = alpha op(A) op(B) + beta C
// is written straight into a tensor's memory.
#include <cblas.h>
#include <node_api.h>
#include <stdint.h>

#define CHECK(call)                                                                 \
  if ((call) != napi_ok) {                                                          \
    napi_throw_error(env, NULL, "blas-native: N-API call failed: " #call);          \
    return NULL;                                                                    \
  }

static int get_f32(napi_env env, napi_value v, float **data, size_t *len) {
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  napi_value buf;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, &buf, &offset) != napi_ok) return 0;
  if (type != napi_float32_array) return 0;
  *data = (float *)ptr;
  *len = length;
  return 1;
}

// sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): row-major, on the
// Float32Arrays A, B, C as given (use subarray views for offsets).
static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 13) {
    napi_throw_type_error(env, NULL, "blas-native: sgemm takes 13 arguments");
    return NULL;
  }
  bool ta, tb;
  int32_t M, N, K, lda, ldb, ldc;
  double alpha, beta;
  CHECK(napi_get_value_bool(env, argv[0], &ta));
  CHECK(napi_get_value_bool(env, argv[1], &tb));
  CHECK(napi_get_value_int32(env, argv[2], &M));
  CHECK(napi_get_value_int32(env, argv[3], &N));
  CHECK(napi_get_value_int32(env, argv[4], &K));
  CHECK(napi_get_value_double(env, argv[5], &alpha));
  CHECK(napi_get_value_int32(env, argv[7], &lda));
  CHECK(napi_get_value_int32(env, argv[9], &ldb));
  CHECK(napi_get_value_double(env, argv[10], &beta));
  CHECK(napi_get_value_int32(env, argv[12], &ldc));
  float *A, *B, *C;
  size_t na, nb, nc;
  if (!get_f32(env, argv[6], &A, &na) || !get_f32(env, argv[8], &B, &nb) || !get_f32(env, argv[11], &C, &nc)) {
    napi_throw_type_error(env, NULL, "blas-native: A, B and C must be Float32Arrays");
    return NULL;
  }
  if (M < 0 || N < 0 || K < 0) {
    napi_throw_range_error(env, NULL, "blas-native: negative dimension");
    return NULL;
  }
  // Bounds: the last element each operand touches must lie inside its array.
  size_t a_rows = ta ? K : M, a_cols = ta ? M : K;
  size_t b_rows = tb ? N : K, b_cols = tb ? K : N;
  if ((M > 0 && K > 0 && ((size_t)lda < a_cols || (a_rows - 1) * (size_t)lda + a_cols > na)) ||
      (K > 0 && N > 0 && ((size_t)ldb < b_cols || (b_rows - 1) * (size_t)ldb + b_cols > nb)) ||
      (M > 0 && N > 0 && ((size_t)ldc < (size_t)N || (size_t)(M - 1) * (size_t)ldc + (size_t)N > nc))) {
    napi_throw_range_error(env, NULL, "blas-native: an operand is smaller than its shape and stride");
    return NULL;
  }
  if (M == 0 || N == 0) return NULL;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K,
              (float)alpha, A, lda, B, ldb, (float)beta, C, ldc);
  return NULL;
}

static napi_value Config(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  const char *cfg = openblas_get_config();
  CHECK(napi_create_string_utf8(env, cfg ? cfg : "unknown", NAPI_AUTO_LENGTH, &s));
  return s;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &n));
  openblas_set_num_threads(n);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, Sgemm, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "sgemm", fn);
  if (napi_create_function(env, "config", NAPI_AUTO_LENGTH, Config, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "config", fn);
  if (napi_create_function(env, "setThreads", NAPI_AUTO_LENGTH, SetThreads, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "setThreads", fn);
  return exports;
}
