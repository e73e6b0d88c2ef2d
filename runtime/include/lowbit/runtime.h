/*===- runtime.h - lowbit's C runtime API ------------------------*- C -*-===*
 *
 * Opens a compiled lowbit artifact (.lbm) and runs it. Plain C, no
 * dependencies: a deployed model needs only this runtime and its artifact.
 *
 *   lowbit_model *model;
 *   if (lowbit_model_open("model.lbm", &model) != LOWBIT_OK)
 *     fprintf(stderr, "%s\n", lowbit_last_error());
 *   lowbit_session *session;
 *   lowbit_session_create(model, NULL, &session);
 *   lowbit_session_set_input(session, 0, data, dims, rank);
 *   lowbit_session_run(session);
 *   lowbit_tensor out;
 *   lowbit_session_output(session, 0, &out);
 *
 * A model is immutable after opening and may be shared by threads; a
 * session is one thread's run state. Every function that can fail returns a
 * status and leaves a message for lowbit_last_error() on the calling thread.
 *
 *===----------------------------------------------------------------------===*/
#ifndef LOWBIT_RUNTIME_H
#define LOWBIT_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lowbit_status {
  LOWBIT_OK = 0,
  LOWBIT_ERROR_IO = 1,          /* a file could not be read */
  LOWBIT_ERROR_FORMAT = 2,      /* the artifact is truncated, corrupt or of another version */
  LOWBIT_ERROR_ARGUMENT = 3,    /* a bad index, shape, type or null pointer */
  LOWBIT_ERROR_UNSUPPORTED = 4, /* the artifact needs a device or CPU this machine lacks */
  LOWBIT_ERROR_RUNTIME = 5,     /* the model failed while running (out of memory, ...) */
} lowbit_status;

/* Element types, numbered as ONNX numbers them. */
typedef enum lowbit_dtype {
  LOWBIT_F32 = 1,
  LOWBIT_U8 = 2,
  LOWBIT_I8 = 3,
  LOWBIT_U16 = 4,
  LOWBIT_I16 = 5,
  LOWBIT_I32 = 6,
  LOWBIT_I64 = 7,
  LOWBIT_BOOL = 9,
  LOWBIT_F16 = 10,
  LOWBIT_F64 = 11,
  LOWBIT_U32 = 12,
  LOWBIT_U64 = 13,
  LOWBIT_BF16 = 16,
} lowbit_dtype;

/* A tensor's description; dims of -1 are dynamic. Strings and arrays
 * belong to the model and live as long as it does. */
typedef struct lowbit_tensor_info {
  const char *name;
  lowbit_dtype dtype;
  int32_t rank;
  const int64_t *dims;
} lowbit_tensor_info;

/* A dense, row-major tensor. */
typedef struct lowbit_tensor {
  lowbit_dtype dtype;
  int32_t rank;
  const int64_t *dims;
  const void *data;
} lowbit_tensor;

typedef struct lowbit_model lowbit_model;
typedef struct lowbit_session lowbit_session;

typedef struct lowbit_session_options {
  int32_t num_threads; /* worker threads; 0 = one per core */
} lowbit_session_options;

/* The message of the last failure on this thread ("" if none). */
const char *lowbit_last_error(void);

/* Maps an artifact and checks every offset and size in it before use. */
lowbit_status lowbit_model_open(const char *path, lowbit_model **model);
void lowbit_model_close(lowbit_model *model);

size_t lowbit_model_num_inputs(const lowbit_model *model);
size_t lowbit_model_num_outputs(const lowbit_model *model);
lowbit_status lowbit_model_input_info(const lowbit_model *model, size_t index,
                                      lowbit_tensor_info *info);
lowbit_status lowbit_model_output_info(const lowbit_model *model, size_t index,
                                       lowbit_tensor_info *info);

/* options may be NULL for the defaults. */
lowbit_status lowbit_session_create(lowbit_model *model, const lowbit_session_options *options,
                                    lowbit_session **session);
void lowbit_session_destroy(lowbit_session *session);

/* Binds input `index` to `data` (row-major, the input's dtype). The data is
 * borrowed, not copied: it must stay valid until lowbit_session_run returns.
 * The shape must match the input's static dimensions. */
lowbit_status lowbit_session_set_input(lowbit_session *session, size_t index, const void *data,
                                       const int64_t *dims, int32_t rank);

lowbit_status lowbit_session_run(lowbit_session *session);

/* Output `index` of the last run; valid until the next run or destroy. */
lowbit_status lowbit_session_output(lowbit_session *session, size_t index, lowbit_tensor *output);

/* Bytes of one element of `dtype` (0 for an unknown type). */
size_t lowbit_dtype_size(lowbit_dtype dtype);

#ifdef __cplusplus
}
#endif

#endif /* LOWBIT_RUNTIME_H */
