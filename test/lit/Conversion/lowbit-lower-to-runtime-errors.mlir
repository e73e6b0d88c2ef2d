// RUN: lowbit-opt %s --split-input-file --lowbit-lower-to-runtime=interleave-rows --verify-diagnostics

// interleave-rows reads the packed bytes to reorder them: a blob shorter
// than the packed type is refused, naming both sizes.
func.func @main(%x: tensor<?x192xf32>) -> tensor<?x5xf32> {
  // expected-error @below {{'lowbit.constant' op holds 4 bytes, but 5 rows of 48 bytes (K = 192 in int2) take 240}}
  %w = lowbit.constant dense_resource<short> : tensor<240xi8> -> !lowbit.packed<5x192, int2>
  %s = arith.constant dense<1.0> : tensor<5x1xf32>
  %y = lowbit.matmul %x, %w scales(%s : tensor<5x1xf32>) : tensor<?x192xf32>, !lowbit.packed<5x192, int2> -> tensor<?x5xf32>
  return %y : tensor<?x5xf32>
}

{-#
  dialect_resources: {
    builtin: {
      short: "0x4000000000010203"
    }
  }
#-}

// -----

// So is a resource without data.
func.func @main(%x: tensor<?x192xf32>) -> tensor<?x5xf32> {
  // expected-error @below {{'lowbit.constant' op has no data for its resource 'missing'}}
  %w = lowbit.constant dense_resource<missing> : tensor<240xi8> -> !lowbit.packed<5x192, int2>
  %s = arith.constant dense<1.0> : tensor<5x1xf32>
  %y = lowbit.matmul %x, %w scales(%s : tensor<5x1xf32>) : tensor<?x192xf32>, !lowbit.packed<5x192, int2> -> tensor<?x5xf32>
  return %y : tensor<?x5xf32>
}
