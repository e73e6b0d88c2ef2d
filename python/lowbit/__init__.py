"""Python helpers for lowbit: the runtime binding (lowbit.runtime) and the
evaluation harness behind lowbit-eval (lowbit.eval)."""
